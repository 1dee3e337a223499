#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <coronet/runtime/log.hpp>
#include <mutex>
#include <vector>

namespace coronet::runtime {

namespace {

std::shared_ptr<spdlog::logger> default_logger() {
    auto l = std::make_shared<spdlog::logger>("coronet", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    l->set_level(spdlog::level::warn);
    return l;
}

std::mutex replace_mutex;
// Every logger the library has had: one that was replaced may still be in
// use on another loop's thread. Never destroyed, so that a stack destroyed
// during the program's exit can still log.
auto& kept = *new std::vector<std::shared_ptr<spdlog::logger>>;
std::atomic<spdlog::logger*> current{nullptr};

}  // namespace

spdlog::logger& logger() {
    if (spdlog::logger* l = current.load(std::memory_order_acquire)) return *l;
    std::lock_guard lock(replace_mutex);
    if (current.load(std::memory_order_relaxed) == nullptr) {
        kept.push_back(default_logger());
        current.store(kept.back().get(), std::memory_order_release);
    }
    return *current.load(std::memory_order_relaxed);
}

void set_logger(std::shared_ptr<spdlog::logger> l) {
    std::lock_guard lock(replace_mutex);
    kept.push_back(l ? std::move(l) : default_logger());
    current.store(kept.back().get(), std::memory_order_release);
}

}  // namespace coronet::runtime
