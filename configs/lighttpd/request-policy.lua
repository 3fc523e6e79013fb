-- mod_magnet, run on every request before lighttpd maps it (lighttpd.conf,
-- magnet.attract-raw-url-to). It makes lighttpd answer like nginx and Apache
-- where lighttpd's own parsing differs and no option changes that without
-- also rewriting REQUEST_URI or QUERY_STRING ("url-normalize" would).
-- Apache runs the same checks (configs/apache/request-policy.lua).

local r = lighty.r
local target = r.req_attr["request.orig-uri"] or ""
local path = target:match("^[^?#]*")

-- The HTTP request policy (docs/http-policy.md): what lighttpd's own parser
-- (server.http-parseopts) lets through. A refusal here closes the connection
-- as Apache's and nginx's refusals do (lighttpd would keep it open).
local function refuse(status)
  r.req_item.keep_alive = 0
  return status
end
local method = r.req_attr["request.method"] or ""
-- CONNECT: 400, as the parsers refuse its authority-form target; methods the
-- stack does not implement (WebDAV and the like, which lighttpd knows): 501.
-- (Comparisons, not a table: Lua strings are interned, so each is a pointer
-- check, and nothing is allocated per request.)
if method == "CONNECT" then
  return refuse(400)
end
if not (method == "GET" or method == "POST" or method == "HEAD" or method == "PUT" or method == "DELETE"
        or method == "OPTIONS" or method == "PATCH" or method == "TRACE") then
  return refuse(501)
end
-- Request-target forms (RFC 9112 section 3.2): the asterisk-form is refused
-- (nginx cannot serve it); no "#" (a fragment is not part of a target), no
-- whitespace or control characters (lighttpd would pass a raw space on).
if target == "*" or target:find("[%c #]") then
  return refuse(400)
end

-- Bytes outside ASCII in the request target (raw UTF-8 instead of
-- percent-encoding, which RFC 3986 requires and browsers always send): 400.
-- node:http, behind nginx-prefork, cannot parse them, so no mode accepts them.
if target:find("[\128-\255]") then
  return refuse(400)
end

-- The request line over 8 KiB: 414; a header line over 8 KiB: 400; as
-- Apache (LimitRequestLine, LimitRequestFieldSize 8190) and nginx
-- (large_client_header_buffers 8k) answer. lighttpd.conf lets lighttpd
-- parse heads up to 64 KiB so that these checks get to run.
local LIMIT = 8190
if #method + #target + 10 > LIMIT then
  return refuse(414)
end
-- One pass over the header fields (each step of pairs() over r.req_header is
-- a call into lighttpd) for both rules on them: this size limit, and the
-- names with "_" dropped further down.
local underscored
for name, value in pairs(r.req_header) do
  if #name + 2 + #value > LIMIT then
    return refuse(400)
  end
  if name:find("_", 1, true) then
    underscored = underscored or {}
    underscored[#underscored + 1] = name
  end
end

-- TRACE: 405, as Apache (TraceEnable Off) and nginx answer it.
if method == "TRACE" then
  return 405
end

-- The checks on escapes and dot-segments below only concern paths with a
-- "%" or a "."; most paths have neither and skip them.
local escaped = path:find("%", 1, true)
if escaped then
  -- A bad percent-escape in the path ("%zz", "%4"): 400, as nginx and Apache.
  if path:find("%%%X") or path:find("%%%x%X") or path:find("%%%x?$") then
    return refuse(400)
  end
  -- Control characters in the decoded path (%00-%1F, %7F): 400. lighttpd would
  -- turn them into "_" in PATH_INFO; nginx and Apache refuse them too.
  if path:find("%%[01]%x") or path:find("%%7[fF]") then
    return refuse(400)
  end
end

-- ".." above the root ("/..", "/a/../..", "%2e%2e", with "%2F" counting as
-- "/" since it is decoded): 400, as nginx answers. lighttpd would stop at "/".
if escaped or path:find(".", 1, true) then
  local decoded = escaped and path:gsub("%%2[eE]", "."):gsub("%%2[fF]", "/") or path
  local depth = 0
  for segment in decoded:gmatch("/([^/]*)") do
    if segment == ".." then
      depth = depth - 1
      if depth < 0 then return refuse(400) end
    elseif segment ~= "" and segment ~= "." then
      depth = depth + 1
    end
  end
end

-- The decoded, simplified path decides where the request goes, as nginx's
-- locations do. (Done here rather than with $HTTP["url"] =~ conditions: a
-- regex cannot match a path that is not valid UTF-8, such as "%FF".)
local uri = r.req_attr["uri.path"] or "/"
local function under(prefix)
  return uri == prefix or uri:sub(1, #prefix + 1) == prefix .. "/"
end
-- The error documents' path, which Apache and nginx keep for internal use.
if uri:sub(1, 25) == "/.yourapplication-errors/" then
  return 404
end
-- Outside the mount: 404 for every method (lighttpd's static-file handler
-- would answer 403 for a directory and 501 for a PUT). APP_MOUNT is the
-- container's setting, checked and stripped of a trailing "/" by the
-- entrypoint (images/common/mount.sh): "" at the root. A plain string
-- comparison: the mount's characters mean the same decoded or not.
local mount = os.getenv("APP_MOUNT") or ""
if mount ~= "" and not under(mount) then
  return 404
end

-- Headers whose names contain "_" never reach the app: nginx drops them and
-- Apache leaves them out of a script's environment, because "X_User" and
-- "X-User" would both become HTTP_X_USER.
-- (Collected in the pass above: a table may not change while pairs() walks it.)
if underscored then
  for _, name in ipairs(underscored) do
    r.req_header[name] = nil
  end
end

return 0
