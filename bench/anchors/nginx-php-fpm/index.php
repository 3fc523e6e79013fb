<?php
// nginx-php-fpm anchor: the classic PHP front controller, reduced to the one
// route the benchmark asks for. nginx sends every path here (SCRIPT_FILENAME
// is fixed in nginx.conf), as a framework's index.php would be.
if (parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) === '/hello') {
    // The app's /hello Content-Type ("text/plain; charset=utf-8"), spelt out
    // so that PHP's default_charset isn't what decides it.
    header('Content-Type: text/plain; charset=utf-8');
    $body = "Hello, World!\n";
    // Content-Length, as the app's /hello has in every deployment (PHP would
    // otherwise leave the framing to nginx: chunked).
    header('Content-Length: ' . strlen($body));
    echo $body;
} else {
    http_response_code(404);
    header('Content-Type: text/plain; charset=utf-8');
    echo "404 Not Found\n";
}
