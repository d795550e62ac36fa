// What a reader sees of escaped Markdown text (src/report/markdown.ts): backslash escapes and the
// zero-width joiners after `@` and `#` removed, so tests can match the action's sentences as written.
export function unescapeMarkdown(markdown: string): string {
  return markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/\u200d/g, '')
}
