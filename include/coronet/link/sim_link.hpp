// Two devices joined by an in-memory wire on an executor's clock (normally
// sim_loop's virtual time), with the seeded impairment model applied to each
// direction (its bottleneck queue included). Frames in flight stay in the
// sender's pool of 4096 buffers; a full pool drops like a full queue.
#pragma once

#include <coronet/link/device.hpp>
#include <coronet/link/impairment.hpp>
#include <coronet/runtime/executor.hpp>
#include <deque>
#include <memory>

namespace coronet::link {

class sim_link {
public:
    // Devices a (MAC 02:00:00:00:00:01) and b (02:00:00:00:00:02).
    sim_link(runtime::executor& ex, impairment params = {}, std::uint64_t seed = 1, std::uint16_t mtu = 1500);
    ~sim_link();
    sim_link(const sim_link&) = delete;
    sim_link& operator=(const sim_link&) = delete;

    device& a();
    device& b();
    // The impairment of frames sent by a (to b) and by b (to a).
    impairment_model& a_to_b();
    impairment_model& b_to_a();

    class endpoint;

private:
    std::unique_ptr<endpoint> a_, b_;
};

}  // namespace coronet::link
