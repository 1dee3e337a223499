// Time vocabulary shared by the real loop (steady clock) and the simulator
// (virtual time): both hand out the same time_point type.
#pragma once

#include <chrono>

namespace coronet::runtime {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;
using namespace std::chrono_literals;

}  // namespace coronet::runtime
