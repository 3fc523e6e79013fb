-- Outside the mount everything is a 404 (errors/404.html), whatever the
-- method: lighttpd's static-file handler would answer 403 for a directory
-- and 501 for a PUT, where nginx and Apache answer 404.
return 404
