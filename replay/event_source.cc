#include "replay/event_source.h"

namespace rrvm {

EventList::EventList(std::vector<Event> events, std::string cut_short)
    : events_(std::move(events)) {
  status_.events = events_.size();
  status_.reason = std::move(cut_short);
}

bool EventList::next(Event& out) {
  if (position_ >= events_.size()) return false;
  out = events_[position_++];
  return true;
}

bool EventList::seek(uint64_t index) {
  if (index > events_.size()) return false;
  position_ = index;
  return true;
}

} // namespace rrvm
