-- Drops request headers whose names contain "_" (see lighttpd.conf): what
-- nginx (underscores_in_headers off) and Apache (for CGI and FastCGI) do.
local names = {}
for name, _ in pairs(lighty.r.req_header) do
  if string.find(name, "_", 1, true) then
    names[#names + 1] = name
  end
end
for _, name in ipairs(names) do
  lighty.r.req_header[name] = nil
end
return 0
