#include <algorithm>
#include <bit>
#include <coronet/link/sim_link.hpp>
#include <string>
#include <vector>

namespace coronet::link {

class sim_link::endpoint final : public device {
public:
    endpoint(runtime::executor& ex, std::uint8_t id, impairment p, std::uint64_t seed, std::uint16_t mtu)
        : ex_(ex),
          mtu_(mtu),
          model_(p, seed),
          pool_(4096, mtu + 14 + packet_headroom, packet_headroom),
          queue_(pool_.capacity()) {
        mac_.octets = {0x02, 0, 0, 0, 0, id};
        name_ = "sim" + std::to_string(id);
        node_.on_expire = &deliver_due;
        node_.context = this;
    }
    ~endpoint() override { ex_.timers().erase(node_); }

    void connect(endpoint& peer) { peer_ = &peer; }
    impairment_model& model() { return model_; }

    wire::mac_address mac() const override { return mac_; }
    std::uint16_t mtu() const override { return mtu_; }
    std::string name() const override { return name_; }
    void start(frame_sink& sink) override { sink_ = &sink; }
    const device_counters& counters() const override { return counters_; }

    using device::allocate;
    std::optional<packet> allocate(std::size_t) override {
        auto p = pool_.get();
        if (!p) ++counters_.tx_dropped;
        return p;
    }

    void transmit(packet frame) override {
        if (frame.size() > static_cast<std::size_t>(mtu_) + 14) {
            ++counters_.tx_errors;  // no segmentation offload on the simulated wire
            return;
        }
        ++counters_.tx_frames;
        counters_.tx_bytes += frame.size();
        const auto now = ex_.now();
        auto v = model_.decide(frame.size(), now);
        if (v.drop || v.police_drop || v.queue_drop) return;
        // Corruption models damage that Ethernet's FCS missed; ARP has no
        // checksum of its own to catch it, so only IPv4 frames are damaged.
        const bool ipv4 = frame.size() >= 14 && frame.data()[12] == std::byte{0x08} && frame.data()[13] == std::byte{0};
        if (v.corrupt_bit && ipv4) {
            auto d = frame.data();
            d[*v.corrupt_bit / 8] ^= std::byte(1u << (*v.corrupt_bit % 8));
        }
        if (v.duplicate_delay) {
            if (auto copy = pool_.get()) {
                std::copy_n(frame.data().data(), frame.size(), copy->put(frame.size()).data());
                enqueue(now + *v.duplicate_delay, std::move(*copy));
            }
        }
        enqueue(now + v.delay, std::move(frame));
    }

private:
    struct in_flight {
        runtime::time_point at;
        packet frame;
    };

    // The frames on the wire in delivery order: a ring sized for the whole
    // pool (each frame on the wire holds a pool buffer), so that the link
    // allocates nothing per frame, however its flight rises and falls.
    class flight_queue {
    public:
        explicit flight_queue(std::size_t capacity) : slots_(std::bit_ceil(capacity)) {}
        bool empty() const noexcept { return size_ == 0; }
        in_flight& front() noexcept { return slots_[head_]; }
        void pop_front() noexcept {
            slots_[head_].frame = packet{};
            head_ = (head_ + 1) & (slots_.size() - 1);
            --size_;
        }
        // Places f after every frame due at or before f.at (FIFO among equal times).
        void insert(in_flight f) {
            if (size_ == slots_.size()) grow();
            std::size_t i = size_;
            for (; i > 0 && f.at < at(i - 1).at; --i) at(i) = std::move(at(i - 1));
            at(i) = std::move(f);
            ++size_;
        }

    private:
        in_flight& at(std::size_t i) noexcept { return slots_[(head_ + i) & (slots_.size() - 1)]; }
        void grow() {
            std::vector<in_flight> bigger(std::max<std::size_t>(64, 2 * slots_.size()));
            for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move(at(i));
            slots_.swap(bigger);
            head_ = 0;
        }
        std::vector<in_flight> slots_;  // a power of two of them
        std::size_t head_ = 0, size_ = 0;
    };

    void enqueue(runtime::time_point at, packet frame) {
        queue_.insert(in_flight{at, std::move(frame)});
        rearm();
    }

    void rearm() {
        if (queue_.empty()) return;
        if (node_.queued()) {
            if (node_.deadline <= queue_.front().at) return;
            ex_.timers().erase(node_);
        }
        node_.deadline = queue_.front().at;
        ex_.timers().insert(node_);
    }

    static void deliver_due(runtime::timer_node& n) {
        auto* self = static_cast<endpoint*>(n.context);
        const auto now = self->ex_.now();
        while (!self->queue_.empty() && self->queue_.front().at <= now) {
            packet p = std::move(self->queue_.front().frame);
            self->queue_.pop_front();
            self->peer_->receive(p.data());
        }
        self->rearm();
    }

    void receive(bytes frame) {
        if (!sink_) return;
        ++counters_.rx_frames;
        counters_.rx_bytes += frame.size();
        sink_->on_frame(frame, rx_meta{});
    }

    runtime::executor& ex_;
    std::uint16_t mtu_;
    impairment_model model_;
    packet_pool pool_;
    wire::mac_address mac_;
    std::string name_;
    endpoint* peer_ = nullptr;
    frame_sink* sink_ = nullptr;
    device_counters counters_;
    flight_queue queue_;
    runtime::timer_node node_;
};

sim_link::sim_link(runtime::executor& ex, impairment params, std::uint64_t seed, std::uint16_t mtu)
    : a_(std::make_unique<endpoint>(ex, 1, params, seed, mtu)),
      b_(std::make_unique<endpoint>(ex, 2, params, seed ^ 0x9e3779b97f4a7c15ull, mtu)) {
    a_->connect(*b_);
    b_->connect(*a_);
}

sim_link::~sim_link() = default;
device& sim_link::a() { return *a_; }
device& sim_link::b() { return *b_; }
impairment_model& sim_link::a_to_b() { return a_->model(); }
impairment_model& sim_link::b_to_a() { return b_->model(); }

}  // namespace coronet::link
