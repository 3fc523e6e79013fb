-- mod_lua, LuaHookPreTranslateName (yourapplication.conf): looks at the raw
-- request target before Apache decodes it, so that Apache refuses what nginx
-- refuses, with the same status. lighttpd runs the same checks
-- (configs/lighttpd/request-policy.lua).
require "apache2"

function check(r)
  -- Internal redirects (the error documents) have been checked already.
  if r.prev then
    return apache2.DECLINED
  end
  local target = r.unparsed_uri or ""
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
