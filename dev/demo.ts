// `npm run demo`: the action end to end on this machine, nothing leaves loopback. Starts the EC2
// emulator with tagged groups in two regions, serves a generated ip-ranges.json, and runs the bundled
// dist/index.js exactly as a runner would: a first sync, a rerun with nothing changed, and a
// published change of one range.
import { DEMO_REGIONS, seedDemoGroups } from './demo-scenario.js'
import type { AwsEmulators } from './emulators/aws.js'
import { startAwsEmulators } from './emulators/aws.js'
import { deriveIpRanges, generateIpRanges, serializeIpRanges } from './ip-ranges-fixture.js'
import { RangesServer } from './ranges-server.js'
import type { ActionRun } from './run-action.js'
import { runAction } from './run-action.js'

let aws: AwsEmulators | undefined
const ranges = new RangesServer()

function show(title: string, run: ActionRun, mutatingCalls: number): void {
  const rule = '─'.repeat(100)
  console.log(`\n${rule}\n${title}\n${rule}`)
  // The CIDR lists fold away in a job summary; in a terminal, show only their headings.
  const folded = run.summary.replace(
    /<details>\s*<summary>(.*?)<\/summary>[\s\S]*?<\/details>/g,
    (_, heading: string) => `▸ ${heading}`
  )
  console.log(folded.replace(/\n{3,}/g, '\n\n'))
  console.log('Outputs:', JSON.stringify(run.outputs, null, 2))
  console.log(`Exit code ${run.exitCode}; EC2 mutating calls in this run: ${mutatingCalls}`)
  if (run.exitCode !== 0) console.log(run.stdout)
}

async function main(): Promise<void> {
  aws = await startAwsEmulators()
  const emulator = aws.ec2
  const url = await ranges.start()
  seedDemoGroups(emulator)
  const document = generateIpRanges({ seed: 1, syncToken: '1785000000' })
  ranges.serve(serializeIpRanges(document))

  const run = async (title: string): Promise<void> => {
    const before = emulator.mutatingCalls().length
    const result = await runAction({
      inputs: {
        regions: DEMO_REGIONS.join(', '),
        'ip-families': 'ipv4,ipv6',
        'ip-ranges-url': url
      },
      env: aws?.env ?? {}
    })
    show(title, result, emulator.mutatingCalls().length - before)
  }

  await run(
    '1. First sync: CLOUDFRONT_ORIGIN_FACING into four tagged groups in two regions,\n   then the exposure audit: one wider exposure, one partial pool'
  )
  await run('2. Rerun with nothing published: no change, zero mutating calls')
  const changed = deriveIpRanges(document, {
    seed: 4,
    service: 'CLOUDFRONT_ORIGIN_FACING',
    add: 1,
    remove: 1
  })
  ranges.serve(serializeIpRanges(changed.doc))
  await run(
    `3. AWS publishes a change (+${changed.added.join(', ')} −${changed.removed.join(', ')})`
  )
}

main()
  .catch(error => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(async () => {
    await aws?.stop()
    await ranges.stop()
  })
