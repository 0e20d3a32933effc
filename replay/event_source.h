// Where a ReplayGate reads the recording's events: a trace file (TraceEventSource), or a list in
// memory (EventList, for tests of the gate without a file).
#pragma once

#include <cstdint>
#include <vector>

#include "formats/trace_event.h"
#include "formats/trace_reader.h"

namespace rrvm {

class EventSource {
public:
  virtual ~EventSource() = default;
  // The next event in order; false at the end of the readable events.
  virtual bool next(Event& out) = 0;
  // Positions before event `index`; false (status() says why) when it cannot.
  virtual bool seek(uint64_t index) = 0;
  // Whether the events end where the recording ended, or earlier and why.
  virtual const TraceStatus& status() const = 0;
  // The recording finished without a guest exit: it was stopped (a signal, Ctrl-A x).
  virtual bool recording_was_stopped() const = 0;
  // Exits that come next in a row, where the source keeps them (TraceReader::exit_run); none
  // from a source that cannot say.
  virtual ExitRun exit_run() { return {}; }
  virtual void skip_exits(size_t) {}
};

class TraceEventSource final : public EventSource {
public:
  explicit TraceEventSource(TraceReader& reader) : reader_(reader) {}
  bool next(Event& out) override { return reader_.next(out); }
  bool seek(uint64_t index) override { return reader_.seek(index); }
  const TraceStatus& status() const override { return reader_.status(); }
  bool recording_was_stopped() const override {
    return reader_.footer() && !reader_.footer()->summary.guest_exit_status;
  }
  ExitRun exit_run() override { return reader_.exit_run(); }
  void skip_exits(size_t n) override { reader_.skip_exits(n); }

private:
  TraceReader& reader_;
};

class EventList final : public EventSource {
public:
  // `cut_short`: the list ends before the recording did (a damaged or killed trace), for this
  // reason.
  explicit EventList(std::vector<Event> events, std::string cut_short = {});
  bool next(Event& out) override;
  bool seek(uint64_t index) override;
  const TraceStatus& status() const override { return status_; }
  bool recording_was_stopped() const override { return stopped_; }
  void set_recording_was_stopped() { stopped_ = true; }

private:
  std::vector<Event> events_;
  bool stopped_ = false;
  size_t position_ = 0;
  TraceStatus status_;
};

} // namespace rrvm
