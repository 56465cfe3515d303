-- POST one pre-built form body per request, each used once (client assertions carry a
-- unique jti and are refused if replayed). Bodies come from the file in $BENCH_BODIES,
-- one per line; wrk's threads split the lines between them.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
  bodies = {}
  local i = 0
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if i % nthreads == tid then
      table.insert(bodies, line)
    end
    i = i + 1
  end
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  n = n + 1
  if n > #bodies then
    n = 1 -- out of fresh bodies: replays will be refused and show up as non-2xx
  end
  return wrk.format(nil, nil, nil, bodies[n])
end
