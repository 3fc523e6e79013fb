-- A test-only hook (tests/integration/apache-lua-stack.test.ts): how much room
-- the Lua stack of this hook's kept state still has. For GET /lua-stack-probe
-- it puts the depth a Lua call chain reached before "stack overflow" in the
-- X-Lua-Stack-Room response header, and declines, as the request policy does
-- for an ordinary request (the app then answers 404: it has no such route). Every slot a previous call left behind on
-- the state's stack is room this one does not have, so the figure stays the
-- same from request to request only if mod_lua's harness cleans up.
local reached = 0

local function dive(depth)
  reached = depth
  dive(depth + 1) -- a plain call, not a tail call: every level keeps its frame
end

function probe(r)
  if r.uri == '/lua-stack-probe' then
    pcall(dive, 1)
    r.err_headers_out['X-Lua-Stack-Room'] = tostring(reached)
  end
  return apache2.DECLINED
end
