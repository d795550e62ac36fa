// No import circle in src/ (issue 13): modules import downwards, so each can be read and tested on
// its own. Type-only and dynamic imports count too: a circle through types still ties two modules'
// meanings together. Imports are read with the TypeScript compiler's own pre-processor.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Relative imports of one module, resolved to files (`./x.js` is `./x.ts` on disk). */
function localImports(file: string, text: string): string[] {
  const { importedFiles } = ts.preProcessFile(text, true, true)
  return importedFiles
    .map(entry => entry.fileName)
    .filter(name => name.startsWith('.'))
    .map(name => resolve(dirname(file), name.replace(/\.js$/, '.ts')))
}

/** Every circle in the graph, each as the path that closes it (depth-first search). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (node: string): void => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next])
      else if (!state.has(next)) visit(next)
    }
    stack.pop()
    state.set(node, 'done')
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return cycles
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : []
  )
}

describe('import graph of src/', () => {
  test('has no circle', () => {
    const graph = new Map<string, string[]>()
    for (const file of sourceFiles(join(ROOT, 'src'))) {
      graph.set(file, localImports(file, readFileSync(file, 'utf8')))
    }
    expect(graph.size).toBeGreaterThan(20)
    const shown = findCycles(graph).map(cycle =>
      cycle.map(file => relative(ROOT, file)).join(' -> ')
    )
    expect(shown).toEqual([])
  })

  test('finds a circle through a type-only import', () => {
    const a = '/p/src/a.ts'
    const b = '/p/src/b.ts'
    const graph = new Map([
      [a, localImports(a, "import type { B } from './b.js'\nexport const x = 1")],
      [b, localImports(b, "import { x } from './a.js'\nexport type B = number")]
    ])
    expect(findCycles(graph)).toEqual([[a, b, a]])
  })

  test('finds dynamic and re-exported imports', () => {
    const file = '/p/src/main.ts'
    const text = "export { y } from './y.js'\nconst m = await import('./m.js')\nimport 'node:fs'"
    expect(localImports(file, text)).toEqual(['/p/src/y.ts', '/p/src/m.ts'])
  })
})
