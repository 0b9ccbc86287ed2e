-- Replays pre-signed webhook requests once each, in file order, then stops wrk.
-- Usage: wrk -t1 -c32 -d<deadline> -s bench/replay.lua http://127.0.0.1:PORT -- requests.tsv
-- Each line of requests.tsv is "<X-Twilio-Signature>\t<urlencoded form>".
-- One wrk thread: it alone knows when the last reply arrived, and can wake wrk's main
-- thread (SIGINT) so the run ends there instead of at the -d deadline.
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
  int kill(int pid, int sig);
  int getpid(void);
]]

local function now_us()
  local ts = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local requests = {}
local sent = 0
local received = 0
local non_ok = 0
started_us = 0
finished_us = 0
completed = 0
not_ok = 0

function init(args)
  local path = "/twilio/whatsapp"
  for line in io.lines(args[1]) do
    local signature, body = line:match("^([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature,
    }, body)
  end
end

local verified = false

function request()
  -- wrk calls request() once before the run to inspect it; that call sends nothing.
  if not verified then
    verified = true
    return requests[1]
  end
  sent = sent + 1
  if sent == 1 then
    started_us = now_us()
  end
  if sent > #requests then
    -- Nothing left: an empty write leaves this connection idle until the run stops.
    return ""
  end
  return requests[sent]
end

function response(status, headers, body)
  received = received + 1
  if status ~= 200 then
    non_ok = non_ok + 1
  end
  -- Kept current on every reply: a request lost to a socket error means the run ends at
  -- the -d deadline instead, and these still describe the work actually done.
  finished_us = now_us()
  completed = received
  not_ok = non_ok
  if received == #requests then
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), 2) -- SIGINT: wrk's main thread stops sleeping and reports
  end
end

function done(summary, latency, _requests)
  local thread = threads[1]
  local e = summary.errors
  io.write(string.format(
    '{"completed": %d, "not_ok": %d, "elapsed_us": %.0f, "duration_us": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    thread:get("completed"), thread:get("not_ok"),
    thread:get("finished_us") - thread:get("started_us"), summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
