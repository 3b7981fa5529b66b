// What the seed documentation promises, encoded from its prose and NOT from the compiler, so the demo's
// matrix is an independent check of the firewall:
//   Controlplane: "apid and Kubernetes API are wide open; kubelet and trustd API is only accessible within the
//   cluster; etcd API is limited to controlplane nodes"; the CNI's VXLAN port is allowed from the cluster.
//   Worker: "kubelet and apid API is only accessible within the cluster"; VXLAN from the cluster.
//   Block mode: everything else is blocked; ICMP is allowed (rate-limited); lo is always allowed.
import type { IpFamily, LabHost, Probe, Role } from "./plan.js";

/** Who may reach a service: everyone, sources in $CLUSTER_SUBNET, or the control-plane addresses $CP1..$CP3. */
export type Audience = "everyone" | "cluster" | "controlplanes";

/** Per node role: service name → audience. A service that is not listed is blocked. */
export const PROMISES: Readonly<Record<Exclude<Role, "external">, Readonly<Record<string, Audience>>>> = {
  controlplane: {
    apid: "everyone",
    "kube-api": "everyone",
    kubelet: "cluster",
    trustd: "cluster",
    etcd: "controlplanes",
    "etcd-peer": "controlplanes",
    vxlan: "cluster",
  },
  worker: { kubelet: "cluster", apid: "cluster", vxlan: "cluster" },
};

export type Verdict = "open" | "drop";

/**
 * Is the source inside the audience? $CLUSTER_SUBNET and $CP1..$CP3 are the nodes' IPv4 addresses in the
 * lab, so a node belongs to the cluster over IPv4 only; the external client never does.
 */
export function inAudience(audience: Audience, source: LabHost, family: IpFamily): boolean {
  switch (audience) {
    case "everyone":
      return true;
    case "cluster":
      return family === 4 && source.role !== "external";
    case "controlplanes":
      return family === 4 && source.role === "controlplane";
  }
}

/** The verdict the seed promises for one probe. */
export function promised(p: Probe): Verdict {
  if (p.source.name === p.dest.name) return "open"; // to itself over lo, which is always allowed
  if (p.service.proto === "icmp") return "open"; // block mode admits ICMP/ICMPv6 (5/s)
  if (p.dest.role === "external") throw new Error("the external client is a source only");
  const audience = PROMISES[p.dest.role][p.service.name];
  return audience !== undefined && inAudience(audience, p.source, p.family) ? "open" : "drop";
}
