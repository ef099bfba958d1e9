// string-width as yargs (and its cliui, wrap-ansi) see it in the release bundle: the width of
// text without its colour codes, one column per code point. Those packages use it only to lay
// out yargs' own help, which the plugin never shows (help is answered before yargs, in Docker's
// layout). The real one compiles Unicode property regexes and an Intl.Segmenter when it is
// loaded, which cost every start of every command.
// biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes start with ESC
const COLOUR = /\u001b\[[0-9;]*m/g;

export default function stringWidth(text) {
  return [...String(text).replace(COLOUR, "")].length;
}
