// Asio interop. asio_stream makes a coronet connection an Asio
// AsyncReadStream and AsyncWriteStream (async_read, async_write,
// async_read_until, use_awaitable, plain callbacks); asio_acceptor and
// async_connect open such streams; run_in() drives a coronet loop from an
// asio::io_context, so an Asio program adopts coronet without restructuring.
// Everything runs on one thread: the one that made the loop runs the io_context.
// This header includes them all; each piece has its own header, below.
#pragma once

#include <coronet/api/asio_acceptor.hpp>  // asio_acceptor, async_connect
#include <coronet/api/asio_driver.hpp>    // loop_driver, run_in
#include <coronet/api/asio_service.hpp>   // asio_bridge, to_asio_error
#include <coronet/api/asio_stream.hpp>    // asio_stream
