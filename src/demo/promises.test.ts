import assert from "node:assert/strict";
import { test } from "node:test";
import { HOSTS, SERVICES, allProbes, type IpFamily, type Probe } from "./plan.js";
import { PROMISES, promised } from "./promises.js";

function probe(source: string, family: IpFamily, dest: string, service: string): Probe {
  const h = (n: string) => HOSTS.find((x) => x.name === n)!;
  return { source: h(source), family, dest: h(dest), service: SERVICES.find((s) => s.name === service)! };
}

test("the seed's promises, case by case", () => {
  const cases: [string, IpFamily, string, string, "open" | "drop"][] = [
    ["external", 4, "cp1", "apid", "open"], // apid wide open
    ["external", 6, "cp1", "kube-api", "open"], // ::/0
    ["external", 4, "cp1", "kubelet", "drop"], // cluster only
    ["worker", 4, "cp1", "trustd", "open"],
    ["worker", 4, "cp1", "etcd", "drop"], // control planes only
    ["cp2", 4, "cp1", "etcd-peer", "open"],
    ["cp2", 6, "cp1", "etcd", "drop"], // $CP1..3 are IPv4 addresses
    ["cp2", 6, "cp1", "kubelet", "drop"], // $CLUSTER_SUBNET is IPv4
    ["cp3", 4, "cp1", "vxlan", "open"],
    ["external", 4, "cp1", "vxlan", "drop"],
    ["external", 4, "worker", "apid", "drop"], // apid is cluster-only on workers
    ["cp1", 4, "worker", "apid", "open"],
    ["cp1", 4, "worker", "kube-api", "drop"], // not promised on workers
    ["cp1", 4, "worker", "trustd", "drop"],
    ["external", 6, "worker", "ping", "open"], // ICMP allowed in block mode
    ["worker", 6, "worker", "etcd", "open"], // itself, over lo
  ];
  for (const [s, f, d, svc, want] of cases) assert.equal(promised(probe(s, f, d, svc)), want, `${s} v${f} → ${d} ${svc}`);
});

test("every promised service is one the demo listens on", () => {
  const names = new Set(SERVICES.map((s) => s.name));
  for (const role of Object.values(PROMISES)) for (const service of Object.keys(role)) assert.ok(names.has(service), service);
});

test("the whole matrix: 192 open, 128 dropped (a change to the promises or the lab shows here)", () => {
  const verdicts = allProbes().map(promised);
  assert.equal(verdicts.length, 320);
  assert.equal(verdicts.filter((v) => v === "open").length, 192);
});

test("the external client is never a destination", () => {
  assert.throws(() => promised(probe("cp1", 4, "external", "apid")), /source only/);
});
