// `npm run bench:audit` (also the last step of `npm run bench`): the exposure audit's EC2 calls and
// time at organisation scale (issue 16): 16 regions x 40 managed groups x 200 network interfaces,
// 50 ms per EC2 call as in scenario 4 of dev/bench.ts. In process, through the real SDK, against
// the loopback EC2 emulator; nothing leaves 127.0.0.1. Options: --runs N (default 3).
//
// Per region: 5 VPCs x (global, regional) x (80, 443) = 20 pools of 2 groups = 40 managed groups,
// one unmanaged "app" group per VPC; 200 interfaces: 20 load balancers with 2 interfaces each and
// 160 instances, each carrying one pool and its VPC's app group. One instance in 20 carries half
// its pool, and one VPC's app group also opens 443 to 0.0.0.0/0, so the audit has findings to
// write.
import { performance } from 'node:perf_hooks'
import type { AuditEc2Api } from '../src/audit/ec2-reads.js'
import { createAuditEc2Api } from '../src/audit/ec2-reads.js'
import type { AuditPlace } from '../src/audit/run.js'
import { auditExposure } from '../src/audit/run.js'
import type { ManagedGroup } from '../src/inventory.js'
import { poolId } from '../src/plan.js'
import { BENCH_REGIONS } from './bench-regions.js'
import { DEFAULT_ACCOUNT_ID, Ec2Emulator } from './emulators/ec2.js'

const REGIONS = BENCH_REGIONS
const VPCS = 5
const LATENCY_MS = 50
const KEYS = { accessKeyId: 'AKIDBENCHAUDIT', secretAccessKey: 'secret' }
const CLOUDFRONT = { ipv4: ['13.32.0.0/15'], ipv6: ['2600:9000::/28'] }

/** Reads once through `api`, then answers the same from memory (stored under `key`). */
function recorded(api: AuditEc2Api, store: Map<string, AuditEc2Api>, key: string): AuditEc2Api {
  const memory: Partial<Record<keyof AuditEc2Api, unknown>> = {}
  const remember =
    <K extends keyof AuditEc2Api>(name: K) =>
    async (...args: Parameters<AuditEc2Api[K]>) => {
      const value = await (api[name] as (...a: unknown[]) => Promise<unknown>)(...args)
      memory[name] = value
      return value
    }
  store.set(key, {
    interfacesWithGroups: async () => memory.interfacesWithGroups as never,
    groupsById: async () => memory.groupsById as never,
    prefixLists: async () => [],
    prefixListEntries: async () => []
  })
  return {
    interfacesWithGroups: remember('interfacesWithGroups') as AuditEc2Api['interfacesWithGroups'],
    groupsById: remember('groupsById') as AuditEc2Api['groupsById'],
    prefixLists: api.prefixLists.bind(api),
    prefixListEntries: api.prefixListEntries.bind(api)
  }
}

interface Seeded {
  groups: ManagedGroup[]
  interfaces: number
}

function seedRegion(emulator: Ec2Emulator, region: string): Seeded {
  const groups: ManagedGroup[] = []
  let interfaces = 0
  for (let v = 0; v < VPCS; v += 1) {
    const vpcId = `vpc-${region.replace(/-/g, '')}${v}`
    const app = emulator.createGroup({
      region,
      vpcId,
      name: `app-${v}`,
      tags: {},
      ingress: [
        { protocol: 'tcp', fromPort: 443, toPort: 443, cidr: v === 0 ? '0.0.0.0/0' : '10.0.0.0/8' }
      ]
    })
    for (const scope of ['global', 'regional'] as const) {
      for (const [protocol, port] of [
        ['http', 80],
        ['https', 443]
      ] as const) {
        const ids = [1, 2].map(n =>
          emulator.createGroup({
            region,
            vpcId,
            name: `cf-${scope}-${port}-${n}`,
            tags: {
              Name: scope === 'global' ? 'cloudfront_g' : 'cloudfront_r',
              AutoUpdate: 'true',
              Protocol: protocol
            }
          })
        )
        for (const groupId of ids) groups.push(managedGroup(region, vpcId, groupId, scope, port))
        // 10 interfaces per pool: 2 of one load balancer, 8 instances (one of them partial).
        for (let i = 0; i < 10; i += 1) {
          const lb = i < 2
          const partial = i === 9 && (v + port) % 2 === 1
          emulator.addNetworkInterface({
            region,
            vpcId,
            groupIds: partial ? [ids[0] as string, app] : [...ids, app],
            ...(lb
              ? {
                  description: `ELB app/lb-${v}-${scope}-${port}/50dc6c495c0c918${i}`,
                  requesterId: 'amazon-elb'
                }
              : { instanceId: emulator.newInstanceId() })
          })
          interfaces += 1
        }
      }
    }
  }
  return { groups, interfaces }
}

function managedGroup(
  region: string,
  vpcId: string,
  groupId: string,
  scope: 'global' | 'regional',
  port: number
): ManagedGroup {
  return {
    account: DEFAULT_ACCOUNT_ID,
    region,
    groupId,
    groupName: groupId,
    vpcId,
    nameTag: scope === 'global' ? 'cloudfront_g' : 'cloudfront_r',
    scope,
    protocol: port === 80 ? 'http' : 'https',
    port,
    managed: { ipv4: [], ipv6: [] },
    ruleLimit: 60,
    foreignWeight: { ipv4: 0, ipv6: 0 },
    foreignOnPort: { ipv4: [], ipv6: [] }
  }
}

async function main(argv: string[]): Promise<void> {
  const runsArg = argv.indexOf('--runs')
  const runs = runsArg >= 0 ? Number(argv[runsArg + 1]) : 3
  const emulator = new Ec2Emulator()
  process.env.AWS_ENDPOINT_URL_EC2 = await emulator.start()
  try {
    const seeded = REGIONS.map(region => ({ region, ...seedRegion(emulator, region) }))
    const groups = seeded.reduce((n, s) => n + s.groups.length, 0)
    const interfaces = seeded.reduce((n, s) => n + s.interfaces, 0)
    const pools = new Set(seeded.flatMap(s => s.groups.map(poolId))).size
    emulator.faults = { latencyMs: LATENCY_MS }
    const times: number[] = []
    let summary = ''
    for (let run = 0; run < runs; run += 1) {
      emulator.calls.length = 0
      const places: AuditPlace[] = seeded.map(s => ({
        account: DEFAULT_ACCOUNT_ID,
        region: s.region,
        groups: s.groups,
        api: createAuditEc2Api({ region: s.region, credentials: KEYS }),
        groupsPerInterface: async () => ({ value: 5 })
      }))
      const start = performance.now()
      const report = await auditExposure(places, {
        cloudFront: CLOUDFRONT,
        ruleDescription: 'cloudfront-sg-sync',
        poolsNeedingGroups: new Set()
      })
      times.push(performance.now() - start)
      const byAction: Record<string, number> = {}
      for (const call of emulator.calls) byAction[call.action] = (byAction[call.action] ?? 0) + 1
      const perRegion = Math.max(
        ...REGIONS.map(region => emulator.calls.filter(c => c.region === region).length)
      )
      summary =
        `calls: ${emulator.calls.length} (${JSON.stringify(byAction)}), at most ${perRegion} per ` +
        `region, ${emulator.mutatingCalls().length} mutating; findings: ` +
        `${report.findings.length} (${report.exposureCount} exposure), warnings: ` +
        `${report.warnings.length}`
    }
    // The judgement alone: the same answers from memory, no HTTP, no SDK, no emulator.
    const answers = new Map<string, AuditEc2Api>()
    await auditExposure(
      seeded.map(s => ({
        account: DEFAULT_ACCOUNT_ID,
        region: s.region,
        groups: s.groups,
        api: recorded(
          createAuditEc2Api({ region: s.region, credentials: KEYS }),
          answers,
          s.region
        ),
        groupsPerInterface: async () => ({ value: 5 })
      })),
      {
        cloudFront: CLOUDFRONT,
        ruleDescription: 'cloudfront-sg-sync',
        poolsNeedingGroups: new Set()
      }
    )
    const pureTimes: number[] = []
    for (let run = 0; run < runs; run += 1) {
      const start = performance.now()
      await auditExposure(
        seeded.map(s => ({
          account: DEFAULT_ACCOUNT_ID,
          region: s.region,
          groups: s.groups,
          api: answers.get(s.region) as AuditEc2Api,
          groupsPerInterface: async () => ({ value: 5 })
        })),
        {
          cloudFront: CLOUDFRONT,
          ruleDescription: 'cloudfront-sg-sync',
          poolsNeedingGroups: new Set()
        }
      )
      pureTimes.push(performance.now() - start)
    }
    pureTimes.sort((a, b) => a - b)
    times.sort((a, b) => a - b)
    const median = times[Math.floor(times.length / 2)] as number
    console.log(
      `Exposure audit, ${REGIONS.length} regions x ${groups / REGIONS.length} managed groups ` +
        `(${pools} pools) x ${interfaces / REGIONS.length} interfaces, ${LATENCY_MS} ms per call:`
    )
    console.log(`  ${summary}`)
    console.log(
      `  wall time: median ${median.toFixed(0)} ms of ${runs} runs ` +
        `(${times.map(t => t.toFixed(0)).join(', ')} ms); the judgement alone on the same ` +
        `answers in memory: median ${(pureTimes[Math.floor(runs / 2)] as number).toFixed(0)} ms`
    )
  } finally {
    delete process.env.AWS_ENDPOINT_URL_EC2
    await emulator.stop()
  }
}

main(process.argv.slice(2)).catch(error => {
  console.error(error)
  process.exitCode = 1
})
