-- mod_magnet, run on every request before lighttpd maps it (lighttpd.conf).
-- It makes lighttpd answer like nginx and Apache where lighttpd's own parsing
-- differs and no config option says so without also changing REQUEST_URI or
-- QUERY_STRING (lighttpd's "url-normalize" rewrites the query string).

local r = lighty.r
local target = r.req_attr["request.orig-uri"] or ""
local path = target:match("^[^?#]*")

-- 1. A bad percent-escape in the path ("%zz", "%4"): 400, as nginx and Apache.
if path:find("%%%X") or path:find("%%%x%X") or path:find("%%%x?$") then
  return 400
end

-- 2. Control characters in the decoded path (%00-%1F, %7F): 400. lighttpd
--    would map them to "_" in PATH_INFO; nginx and Apache are configured to
--    reject them too (nginx rejects %00 on its own, Apache answers it with 404).
if path:find("%%[01]%x") or path:find("%%7[fF]") then
  return 400
end

-- 3. ".." above the root ("/..", "/a/../..", "%2e%2e", "%2F" counting as "/"):
--    400, as nginx and Apache. lighttpd would quietly stop at "/".
local decoded = path:gsub("%%2[eE]", "."):gsub("%%2[fF]", "/")
local depth = 0
for segment in decoded:gmatch("/([^/]*)") do
  if segment == ".." then
    depth = depth - 1
    if depth < 0 then return 400 end
  elseif segment ~= "" and segment ~= "." then
    depth = depth + 1
  end
end

-- 4. Headers whose names contain "_" never reach the app: nginx drops them
--    and Apache leaves them out of a script's environment, because "X_User"
--    and "X-User" would both become HTTP_X_USER.
local names = {}
for name, _ in pairs(r.req_header) do
  if name:find("_", 1, true) then names[#names + 1] = name end
end
for _, name in ipairs(names) do
  r.req_header[name] = nil
end

return 0
