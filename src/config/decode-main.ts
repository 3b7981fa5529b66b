// The v1alpha1 main document: only three values are read (§3.11); everything else is ignored.
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from "yaml";
import type { Prefix } from "../net/address.js";
import { parsePrefix } from "../net/address.js";
import type { Diagnostic, SourcePos } from "./diagnostics.js";
import { decodePrefix } from "./decode-fields.js";
import { DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET, type ClusterInfo } from "./model.js";
import { isNullNode, mapEntries, posOf, typeError, type DocContext } from "./yaml-nodes.js";

export const MAIN_DOC_ID = "v1alpha1";

function child(ctx: DocContext, map: Node | null, key: string): { node: Node | null; pos: SourcePos } | undefined {
  if (!isMap(map)) return undefined;
  // Duplicate keys in the (otherwise unvalidated) main document are not our business.
  const e = mapEntries(ctx, map as YAMLMap, () => {}, posOf(ctx, map, { file: ctx.file, line: 1, col: 1 })).find((x) => x.key === key);
  return e ? { node: e.value, pos: e.valuePos } : undefined;
}

export function decodeMain(ctx: DocContext, root: YAMLMap, docPos: SourcePos): { info: ClusterInfo; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const error = (pos: SourcePos, path: string, message: string) => diagnostics.push({ severity: "error", pos, docId: MAIN_DOC_ID, path, message });

  const cluster = child(ctx, root, "cluster");
  const network = cluster ? child(ctx, cluster.node, "network") : undefined;
  const subnets = (key: string, fallback: string): Prefix[] => {
    const entry = network ? child(ctx, network.node, key) : undefined;
    const path = `cluster.network.${key}`;
    if (!entry || isNullNode(entry.node)) return [parsePrefix(fallback)];
    if (!isSeq(entry.node)) {
      error(entry.pos, path, typeError("list", entry.node));
      return [];
    }
    const out: Prefix[] = [];
    entry.node.items.forEach((item, i) => {
      const node = item as Node | null;
      const r = decodePrefix(ctx, node);
      const pos = posOf(ctx, node, entry.pos);
      if (!r.ok) error(pos, `${path}[${i}]`, r.message);
      else if (r.value === null) error(pos, `${path}[${i}]`, "invalid Prefix");
      else out.push(r.value);
    });
    return out.length > 0 || entry.node.items.length > 0 ? out : [parsePrefix(fallback)];
  };
  const podSubnets = subnets("podSubnets", DEFAULT_POD_SUBNET);
  const serviceSubnets = subnets("serviceSubnets", DEFAULT_SERVICE_SUBNET);

  let forwardKubeDNSToHost = false;
  const machine = child(ctx, root, "machine");
  const features = machine ? child(ctx, machine.node, "features") : undefined;
  const hostDNS = features ? child(ctx, features.node, "hostDNS") : undefined;
  const fwd = hostDNS ? child(ctx, hostDNS.node, "forwardKubeDNSToHost") : undefined;
  if (fwd && !isNullNode(fwd.node)) {
    if (isScalar(fwd.node) && typeof fwd.node.value === "boolean") forwardKubeDNSToHost = fwd.node.value;
    else error(fwd.pos, "machine.features.hostDNS.forwardKubeDNSToHost", typeError("boolean", fwd.node));
  }
  return {
    info: { podSubnets, serviceSubnets, forwardKubeDNSToHost, hasClusterNetwork: network !== undefined, pos: docPos },
    diagnostics,
  };
}
