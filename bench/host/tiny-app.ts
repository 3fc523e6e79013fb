/** The app every host benchmark serves: the smallest Fetch handler there is. */
export default function tinyApp(): Response {
  return new Response('Hello, World!\n');
}
