-- mod_lua, LuaHookPreTranslateName (yourapplication.conf): looks at the raw
-- request target before Apache decodes it, so that Apache refuses what nginx
-- refuses, with the same status. lighttpd runs the same checks
-- (configs/lighttpd/request-policy.lua).
require "apache2"

-- Methods the stack serves (docs/http-policy.md, "Methods"): anything else
-- is 501, as lighttpd and the pre-fork server's parser answer it. TRACE is
-- refused by TraceEnable Off (405).
local METHODS = { GET = true, HEAD = true, POST = true, PUT = true, DELETE = true, OPTIONS = true, PATCH = true, TRACE = true }

-- Statuses after which the connection is closed (docs/http-policy.md). Apache
-- closes by itself after 400, 411, 413, 414, 500, 501, 503; not after 505.
local CLOSES = { [505] = true }

local function valid_host(host)
  local name, port = host:match("^(%[[%x:.]+%])(.*)$")
  if not name then name, port = host:match("^([%w.-]+)(.*)$") end
  return name ~= nil and (port == "" or port:match("^:%d%d?%d?%d?%d?$") ~= nil)
end

function check(r)
  -- Internal redirects (the error documents) have been checked already; an
  -- error that ends the connection ends it on the error document's request.
  -- (A request refused while it was read has no r.prev, only REDIRECT_STATUS.)
  local redirected = r.subprocess_env["REDIRECT_STATUS"]
  if r.prev or redirected then
    if CLOSES[tonumber(redirected or r.prev.status)] then r.subprocess_env["nokeepalive"] = "1" end
    return apache2.DECLINED
  end
  local target = r.unparsed_uri or ""

  -- HTTP versions other than 1.0 and 1.1: 505 (RFC 9110 section 15.6.6).
  -- Apache would answer HTTP/2.0 or HTTP/9.9 as if it were HTTP/1.1.
  if r.protocol ~= "HTTP/1.1" and r.protocol ~= "HTTP/1.0" then
    return 505
  end
  -- Methods the stack does not implement: 501 (RFC 9110 section 9.1).
  -- CONNECT's authority-form target is refused by every parser (400).
  if r.method == "CONNECT" then
    return 400
  end
  if not METHODS[r.method] then
    return 501
  end
  -- Transfer codings other than exactly "chunked" (RFC 9112 section 6.1,
  -- 7): 501. Apache refuses a single unknown coding with 400 itself, but
  -- takes "gzip, chunked" or "chunked, chunked" as chunked.
  local te = r.headers_in["Transfer-Encoding"]
  -- Transfer-Encoding in an HTTP/1.0 request: faulty framing (RFC 9112
  -- section 6.1), 400, as nginx and lighttpd answer.
  if te and r.protocol == "HTTP/1.0" then
    return 400
  end
  if te and te:lower() ~= "chunked" then
    return 501
  end
  -- GET and HEAD with content (RFC 9110 section 9.3.1: no defined meaning; a
  -- smuggling vector where a hop ignores it): 400, as lighttpd answers.
  if (r.method == "GET" or r.method == "HEAD") and (te or (r.headers_in["Content-Length"] or "0") ~= "0") then
    return 400
  end
  -- The Host header (RFC 9112 section 3.2, RFC 3986 section 3.2.2): a DNS
  -- name or IPv4 address, or an IPv6 literal, and an optional numeric port;
  -- anything else is 400, as lighttpd's host-strict parsing answers.
  local host = r.headers_in["Host"]
  if host and not valid_host(host) then
    return 400
  end
  -- Request-target forms (RFC 9112 section 3.2): the asterisk-form is refused
  -- (nginx cannot serve it), an absolute-form target must be http(s) with an
  -- authority and a path, as nginx and lighttpd require.
  if target == "*" then
    return 400
  end
  if not target:find("^/") and not target:find("^[hH][tT][tT][pP][sS]?://[^/?#]+/") then
    return 400
  end
  -- An absolute-form target ("http://host/path") contributes its path only.
  target = target:gsub("^%a[%w+.-]*://[^/]*", "")
  local path = target:match("^[^?#]*")

  -- Bytes outside ASCII in the request target (raw UTF-8 instead of
  -- percent-encoding, which RFC 3986 requires and browsers always send): 400.
  -- node:http, behind nginx-prefork, cannot parse them, so no mode accepts them.
  if target:find("[\128-\255]") then
    return 400
  end

  -- Control characters in the path, %00 included: 400. Apache itself would
  -- answer %00 with 404 and pass the others on; nginx refuses %00 and the
  -- configs make every server refuse the rest (lighttpd can't pass them).
  if path:find("%%[01]%x") or path:find("%%7[fF]") then
    return 400
  end

  -- ".." above the root once "%2F" is decoded ("/..%2f..%2fetc/passwd"):
  -- 400, as nginx answers. Apache's second normalisation (after decoding
  -- %2F, AllowEncodedSlashes On) would quietly stop at "/".
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
  -- POST with neither Content-Length nor Transfer-Encoding: 411, which is
  -- what lighttpd answers and no option changes; nginx does the same.
  if r.method == "POST" and not r.headers_in["Content-Length"] and not r.headers_in["Transfer-Encoding"] then
    return 411
  end
  return apache2.DECLINED
end
