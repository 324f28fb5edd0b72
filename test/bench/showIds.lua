-- wrk script: GET /images/<id>, rotating over the ids in the file named by $BENCH_IDS_FILE
-- (one id a line). Each wrk thread has its own Lua state and starts at a different offset.
local ids = {}
local file = assert(io.open(os.getenv("BENCH_IDS_FILE") or "ids.txt", "r"))
for line in file:lines() do
  if #line > 0 then ids[#ids + 1] = line end
end
file:close()
assert(#ids > 0, "no ids in BENCH_IDS_FILE")

local prefix = os.getenv("BENCH_SHOW_PREFIX") or "/images/"
local i = 0

function init(args)
  i = math.random(#ids) - 1
end

function request()
  i = (i % #ids) + 1
  return wrk.format("GET", prefix .. ids[i])
end
