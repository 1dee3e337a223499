// What coronet-proxy's --metrics endpoint shows (Prometheus text): the
// proxy's sessions, bytes, refusals and failures, and the stack's
// connections by state, resets, drops by cause and device counters, each
// sample labelled with the loop it belongs to ({loop="0"}).
#pragma once

#include "../common/prometheus.hpp"
#include "proxy.hpp"

namespace coronet::apps {

// Writes the proxy's and its stack's metric families.
void write_proxy_metrics(prometheus_text& out, stack& st, const runtime::loop& loop, const proxy& px,
                         unsigned loop_index = 0);

}  // namespace coronet::apps
