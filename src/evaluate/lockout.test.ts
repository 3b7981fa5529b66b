// The lock-out guard's pure half: --keep-open / SSH_CONNECTION parsing, which connections a candidate
// would cut and by which rule, and (property) that the whole source range of an entry is covered exactly.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { parseAddress, type Address } from "../net/address.js";
import { localFromAddresses } from "./flows.js";
import { evaluate } from "./evaluate.js";
import {
  findLockouts,
  keepOpenProtected,
  lockoutText,
  LockoutInputError,
  parseKeepOpen,
  parseKeepOpenFile,
  parseKeepOpenList,
  parseSshConnection,
  rangeText,
  sshProtected,
  type KeepOpen,
} from "./lockout.js";
import { compileYaml, packet } from "./test-support/packets.js";

const addr = (t: string) => parseAddress(t) as Address;
const v = (t: string) => addr(t).value;
/** Terse view of parsed entries: `proto family lo-hi port`. */
const brief = (ks: readonly KeepOpen[]) => ks.map((k) => `${k.protocol} v${k.family} ${rangeText(k.family, k.sources)} ${k.port}`);

describe("--keep-open entries (Calico failsafe syntax)", () => {
  test("PROTO:CIDR:PORT, IPv4 and IPv6 (bracketed as Calico writes it, [addr]/bits, or bare)", () => {
    assert.deepEqual(brief(parseKeepOpen("tcp:0.0.0.0/0:22")), ["6 v4 0.0.0.0/0 22"]);
    assert.deepEqual(brief(parseKeepOpen("udp:10.0.0.0/8:53")), ["17 v4 10.0.0.0/8 53"]);
    assert.deepEqual(brief(parseKeepOpen("tcp:[::/0]:22")), ["6 v6 ::/0 22"]);
    assert.deepEqual(brief(parseKeepOpen("tcp:[::]/0:22")), ["6 v6 ::/0 22"]);
    assert.deepEqual(brief(parseKeepOpen("tcp:::/0:22")), ["6 v6 ::/0 22"]);
    assert.deepEqual(brief(parseKeepOpen("tcp:fd00:1::/32:6443")), ["6 v6 fd00:1::/32 6443"]);
    assert.deepEqual(brief(parseKeepOpen("  TCP:10.0.0.0/8:22 ")), ["6 v4 10.0.0.0/8 22"]);
  });

  test("a bare address is that address; host bits are masked off as Calico does", () => {
    assert.deepEqual(brief(parseKeepOpen("tcp:10.1.2.3:22")), ["6 v4 10.1.2.3 22"]);
    assert.deepEqual(brief(parseKeepOpen("tcp:[fd00::7]:22")), ["6 v6 fd00::7 22"]);
    assert.deepEqual(brief(parseKeepOpen("tcp:10.1.2.3/16:22")), ["6 v4 10.1.0.0/16 22"]);
  });

  test("PROTO:PORT and PORT (tcp) cover every source of both families", () => {
    assert.deepEqual(brief(parseKeepOpen("udp:68")), ["17 v4 0.0.0.0/0 68", "17 v6 ::/0 68"]);
    assert.deepEqual(brief(parseKeepOpen("22")), ["6 v4 0.0.0.0/0 22", "6 v6 ::/0 22"]);
  });

  test("malformed entries name the entry and the problem", () => {
    const bad: [string, RegExp][] = [
      ["sctp:0.0.0.0/0:22", /protocol "sctp" is not tcp or udp/],
      ["tcp:0.0.0.0/0:65536", /port "65536" is not 0-65535/],
      ["tcp:0.0.0.0/0:", /port "" is not 0-65535/],
      ["tcp:10.0.0.0/33:22", /prefix length out of range/],
      ["tcp:host.example:22", /"host.example" is not an IP address or CIDR/],
      ["tcp:[::1/64:22", /ParseAddr\("\[::1"\): invalid IP address/],
      ["", /port "" is not 0-65535/],
    ];
    for (const [entry, re] of bad) {
      assert.throws(
        () => parseKeepOpen(entry),
        (e: unknown) => e instanceof LockoutInputError && e.message.startsWith(`--keep-open ${JSON.stringify(entry)}: `) && re.test(e.message),
        entry,
      );
    }
  });

  test("a keep-open file: one entry per line, # comments, errors with file:line", () => {
    const text = "# management\ntcp:10.0.0.0/8:22   # ops VPN\n\n  udp:[fd00::/8]:53\n";
    assert.deepEqual(brief(parseKeepOpenFile(text, "keep.txt")), ["6 v4 10.0.0.0/8 22", "17 v6 fd00::/8 53"]);
    assert.throws(() => parseKeepOpenFile("22\nicmp:0.0.0.0/0:0\n", "keep.txt"), /^Error: keep.txt:2: --keep-open "icmp:0.0.0.0\/0:0": protocol "icmp"/);
  });

  test("INGRESSFW_KEEP_OPEN: comma-separated, blanks ignored", () => {
    assert.deepEqual(brief(parseKeepOpenList("tcp:10.0.0.0/8:22, udp:192.168.1.1:53,", "INGRESSFW_KEEP_OPEN")), ["6 v4 10.0.0.0/8 22", "17 v4 192.168.1.1 53"]);
    assert.throws(() => parseKeepOpenList("tcp:10.0.0.0/8:x", "INGRESSFW_KEEP_OPEN"), /^Error: INGRESSFW_KEEP_OPEN: --keep-open "tcp:10.0.0.0\/8:x": port "x"/);
  });
});

describe("SSH_CONNECTION", () => {
  test("client ip, client port, server ip, server port; an IPv6 zone is dropped", () => {
    const s = parseSshConnection("203.0.113.9 51234 10.0.0.1 22");
    assert.deepEqual([s.client, s.clientPort, s.server, s.serverPort], [addr("203.0.113.9"), 51234, addr("10.0.0.1"), 22]);
    const z = parseSshConnection("fe80::2%eth0 40000 fe80::1%eth0 2222\n");
    assert.deepEqual([z.client, z.server, z.serverPort], [addr("fe80::2"), addr("fe80::1"), 2222]);
  });

  test("anything else is rejected", () => {
    for (const bad of [
      "",
      "10.0.0.2 5000 10.0.0.1",
      "10.0.0.2 5000 10.0.0.1 70000",
      "10.0.0.2 x 10.0.0.1 22",
      "10.0.0.2 5000 fd00::1 22",
      "host 1 10.0.0.1 22",
    ]) {
      assert.throws(() => parseSshConnection(bad), LockoutInputError, bad);
    }
  });

  test("protected only when the session ends at a local address of the target; a local client arrives on lo", () => {
    const local = localFromAddresses([addr("10.0.0.1")]);
    assert.equal(sshProtected(parseSshConnection("203.0.113.9 5000 10.0.0.7 22"), local), null);
    const remote = sshProtected(parseSshConnection("203.0.113.9 5000 10.0.0.1 22"), local)!;
    assert.deepEqual(
      [remote.iif, remote.protocol, remote.port, remote.sources, remote.destinations],
      ["eth0", 6, 22, { lo: v("203.0.113.9"), hi: v("203.0.113.9") }, [v("10.0.0.1")]],
    );
    assert.equal(sshProtected(parseSshConnection("127.0.0.1 5000 127.0.0.1 22"), local)!.iif, "lo");
    assert.equal(sshProtected(parseSshConnection("10.0.0.1 5000 10.0.0.1 22"), local)!.iif, "lo");
  });
});

const BLOCK = "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block\n---\n";
const SSH_RULE = `apiVersion: v1alpha1
kind: NetworkRuleConfig
name: ssh
portSelector:
  ports: [22]
  protocol: tcp
ingress:
  - subnet: 10.0.0.0/8
    except: 10.3.0.0/16
`;
const NODE = "10.9.9.9";
const keep = (entry: string, nodes: readonly string[] | null = [NODE]) => parseKeepOpen(entry).map((k) => keepOpenProtected(k, nodes && nodes.map(addr)));

describe("lock-outs", () => {
  test("accept mode: the except of the ssh rule is cut, by that rule (prerouting meets it first)", () => {
    const rs = compileYaml(SSH_RULE, { nodeAddresses: [NODE] });
    assert.deepEqual(findLockouts(rs, keep("tcp:10.0.0.0/8:22")).map(lockoutText), [
      "--keep-open tcp:10.0.0.0/8:22: new tcp connections from 10.3.0.0/16 (part of 10.0.0.0/8) to 10.9.9.9 port 22 would be dropped by rule 3 of chain prerouting, NetworkRuleConfig/ssh (t.yaml:1:1)",
    ]);
    assert.deepEqual(findLockouts(rs, keep("tcp:10.0.0.0/16:22")), []);
    assert.deepEqual(findLockouts(rs, keep("udp:10.3.0.0/16:22")), [], "the rule is for tcp");
  });

  test("block mode: sources no rule admits are cut by the prerouting drop, or by the ingress policy without node addresses", () => {
    const withNodes = compileYaml(BLOCK + SSH_RULE, { nodeAddresses: [NODE] });
    assert.deepEqual(findLockouts(withNodes, keep("tcp:10.3.255.255:22")).map(lockoutText), [
      "--keep-open tcp:10.3.255.255:22: new tcp connections from 10.3.255.255 to 10.9.9.9 port 22 would be dropped by rule 4 of chain prerouting, builtin new-tcp-drop: new TCP connections to a node address that no rule admits are dropped before DNAT (block mode)",
    ]);
    const withoutNodes = compileYaml(BLOCK + SSH_RULE, { profile: "talos-1.7" });
    assert.deepEqual(findLockouts(withoutNodes, keep("22", null)).map(lockoutText), [
      "--keep-open 22: new tcp connections from 0.0.0.0-9.255.255.255, 10.3.0.0/16, 11.0.0.0-255.255.255.255 (part of 0.0.0.0/0) to 192.0.2.1 port 22 would be dropped by the policy of chain ingress (no rule matched)",
      "--keep-open 22: new tcp connections from ::/0 to 2001:db8::1 port 22 would be dropped by the policy of chain ingress (no rule matched)",
    ]);
  });

  test("the SSH session: kept when a rule admits the client, cut by name otherwise; lo is trusted", () => {
    const rs = compileYaml(BLOCK + SSH_RULE, { profile: "talos-1.7" });
    const local = localFromAddresses([addr("10.0.0.1")]);
    const ssh = (value: string) => [sshProtected(parseSshConnection(value), local)!];
    assert.deepEqual(findLockouts(rs, ssh("10.1.2.3 50000 10.0.0.1 22")), []);
    assert.deepEqual(findLockouts(rs, ssh("10.0.0.1 50000 10.0.0.1 22")), [], "from this host, over lo");
    assert.deepEqual(findLockouts(rs, ssh("10.3.2.1 50000 10.0.0.1 22")).map(lockoutText), [
      `the current SSH session (SSH_CONNECTION "10.3.2.1 50000 10.0.0.1 22"): new tcp connections from 10.3.2.1 to 10.0.0.1 port 22 would be dropped by the policy of chain ingress (no rule matched)`,
    ]);
    assert.deepEqual(findLockouts(rs, ssh("10.1.2.3 50000 10.0.0.1 2222")).length, 1, "sshd on another port");
  });

  test("every node address is a destination that is checked", () => {
    const rs = compileYaml(BLOCK + SSH_RULE, { nodeAddresses: [NODE, "10.9.9.10"] });
    const cut = findLockouts(rs, keep("tcp:192.168.0.1:22", [NODE, "10.9.9.10", "fd00::1"]));
    assert.deepEqual(
      cut.map((l) => l.dst),
      [v(NODE), v("10.9.9.10")],
    );
  });

  test("more than three cut ranges are summarised", () => {
    const rules = [1, 3, 5, 7, 9].map((i) => `  - subnet: 10.0.${i}.0/24`).join("\n");
    const rs = compileYaml(
      `${BLOCK}apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: ssh\nportSelector: {ports: [22], protocol: tcp}\ningress:\n${rules}\n`,
      { profile: "talos-1.7" },
    );
    const [cut] = findLockouts(rs, keep("tcp:10.0.0.0/20:22", null));
    assert.equal(
      lockoutText(cut!),
      "--keep-open tcp:10.0.0.0/20:22: new tcp connections from 10.0.0.0/24, 10.0.2.0/24, 10.0.4.0/24 and 3 more range(s) (part of 10.0.0.0/20) to 192.0.2.1 port 22 would be dropped by the policy of chain ingress (no rule matched)",
    );
  });
});

describe("the whole source range is covered exactly (property)", () => {
  // Rules over 10.0.0.0/24 with subnets and excepts from /24 to /32; every one of the 256 sources is
  // evaluated on its own and compared with the ranges the guard reports.
  const prefixArb = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 })).map(([host, bits]) => `10.0.0.${host}/${bits}`);
  const entryArb = fc.record({ subnet: prefixArb, except: fc.option(prefixArb, { nil: undefined }) });
  const ruleArb = fc.record({ port: fc.constantFrom(22, 23), entries: fc.array(entryArb, { maxLength: 3 }) });
  const configArb = fc.record({
    block: fc.boolean(),
    profile: fc.constantFrom("talos" as const, "talos-1.7" as const),
    rules: fc.array(ruleArb, { minLength: 1, maxLength: 4 }),
  });

  function yaml(c: { block: boolean; rules: { port: number; entries: { subnet: string; except?: string | undefined }[] }[] }): string {
    const docs = c.rules.map((r, i) => {
      const ingress = r.entries.map((e) => `  - subnet: ${e.subnet}${e.except ? `\n    except: ${e.except}` : ""}`).join("\n");
      return `apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r${i}\nportSelector: {ports: [${r.port}], protocol: tcp}\ningress:${ingress ? `\n${ingress}` : " []"}\n`;
    });
    return (c.block ? BLOCK : "") + docs.join("---\n");
  }

  test("dropped ranges = the sources whose own evaluation is drop", () => {
    fc.assert(
      fc.property(configArb, (c) => {
        const rs = compileYaml(yaml(c), { profile: c.profile, nodeAddresses: [NODE] });
        const [subject] = keep("tcp:10.0.0.0/24:22");
        const reported = new Set<bigint>();
        for (const l of findLockouts(rs, [subject!])) for (const r of l.sources) for (let a = r.lo; a <= r.hi; a++) reported.add(a);
        const base = packet({ from: "10.0.0.0", to: NODE, port: 22 });
        for (let a = v("10.0.0.0"); a <= v("10.0.0.255"); a++) {
          const e = evaluate(rs, { ...base, src: a });
          assert.equal(reported.has(a), e.verdict === "drop", `source ${a}`);
        }
      }),
      { seed: 4242, numRuns: 150 },
    );
  });
});
