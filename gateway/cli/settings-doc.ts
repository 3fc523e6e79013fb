/**
 * docs/settings.md, generated from the settings table so that it cannot
 * drift from what the CLI accepts: `node gateway/cli/settings-doc.ts > docs/settings.md`
 * (`make docs-settings`); a unit test fails when the file is out of date.
 */
import { fileURLToPath } from 'node:url';
import { flagSynopsis, scopeList, SETTINGS } from '../settings.ts';

/** A table cell: a "|" in the text would end it. */
const cell = (text: string) => text.replaceAll('|', '\\|');

export function settingsMarkdown(): string {
  const rows = SETTINGS.map((row) => `| \`${flagSynopsis(row)}\` | \`${row.flag} = ...\` | ${cell(row.help)} | ${cell(row.defaultText)} | ${scopeList(row)} |`);
  return `<!-- Generated from gateway/settings.ts by gateway/cli/settings-doc.ts (make docs-settings); do not edit. -->
# tsgi settings

Every setting is a long option of \`tsgi\` and a line of a config file
(\`--config FILE\`: \`name = value\` lines, \`#\` comments; options on the command
line override the file). A setting given to a transport that does not use it is
refused, as is a bad value, with the option or the file and line named.

| option | config file | what it does | default | transports |
|---|---|---|---|---|
${rows.join('\n')}

\`http\` runs a pre-fork master when \`--workers\` is above 0 and one process
when it is 0. \`--graceful-timeout\` is the one deadline of the graceful stop
every long-running transport shares (gateway/graceful-stop.ts): stop accepting,
serve what still arrives on open connections for a moment and close them after
it, close idle connections, drop what still runs at the deadline. A FastCGI or
one-process HTTP server then exits 0 when everything finished, 1 when requests
had to be dropped; a pre-fork worker does the same, and its master exits 0.
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(settingsMarkdown());
