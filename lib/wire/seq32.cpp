// Printing sequence numbers.
#include <coronet/wire/seq32.hpp>
#include <ostream>

namespace coronet::wire {

std::ostream& operator<<(std::ostream& os, seq32 s) { return os << s.value; }

}  // namespace coronet::wire
