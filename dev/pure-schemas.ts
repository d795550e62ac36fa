// An esbuild plugin that lets the bundle drop the AWS SDK schemas the action never uses.
//
// Each AWS SDK v3 client describes every shape of its service as a top-level literal in
// `dist-es/schemas/schemas_0.js`, e.g. `export var Tag$ = [3, n0, _Ta, 0, [...], [[0, { [_eQN]:
// 'Key' }], ...]]`. The computed keys (`[_eQN]`) make esbuild treat those literals as possibly
// side-effecting, so it keeps all of them: for EC2 that is 550 kB of the bundle and about 24 MiB
// of memory spent building ~3,400 shapes at start-up, of which the action reads about 30.
// Building a literal has no side effect here (the keys are string constants), so the plugin
// wraps each one in a call annotated `@__PURE__`; esbuild then keeps only the shapes that a kept
// command reaches. Statements that do have effects (the error registry) are left alone.
import type { Plugin } from 'esbuild'
import { readFile } from 'node:fs/promises'
import ts from 'typescript'

const SCHEMA_FILE = /[\\/]@aws-sdk[\\/].+[\\/]schemas[\\/]schemas_\d+\.js$/

export const pureSchemas: Plugin = {
  name: 'pure-aws-sdk-schemas',
  setup(build) {
    build.onLoad({ filter: SCHEMA_FILE }, async ({ path }) => ({
      contents: markLiteralsPure(await readFile(path, 'utf8'), path),
      loader: 'js'
    }))
  }
}

/** Wraps every top-level `var`/`let`/`const` array or object literal in a pure IIFE. */
export function markLiteralsPure(source: string, fileName = 'schemas.js'): string {
  const file = ts.createSourceFile(
    fileName,
    source,
    ts.ScriptTarget.Latest,
    false,
    ts.ScriptKind.JS
  )
  const literals: { start: number; end: number }[] = []
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue
    for (const { initializer } of statement.declarationList.declarations) {
      if (!initializer) continue
      if (ts.isArrayLiteralExpression(initializer) || ts.isObjectLiteralExpression(initializer)) {
        literals.push({ start: initializer.getStart(file), end: initializer.end })
      }
    }
  }
  // Splice from the end so earlier offsets stay valid.
  let out = source
  for (const { start, end } of literals.reverse()) {
    out = `${out.slice(0, start)}/* @__PURE__ */ (() => (${out.slice(start, end)}))()${out.slice(end)}`
  }
  return out
}
