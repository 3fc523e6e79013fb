/**
 * An RFC 9110 token (section 5.6.2): what a method, a field name and a header
 * name must be. One definition for the wire parser, the request translator,
 * the handler's response check and TSGI's Response, so they cannot drift apart.
 */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
