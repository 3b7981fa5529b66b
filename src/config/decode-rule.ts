// NetworkRuleConfig decoding (§3.4) followed by Talos's validation (§4.2).
import { isMap, isScalar, isSeq, type Node } from "yaml";
import type { Diagnostic, SourcePos } from "./diagnostics.js";
import { decodeEnum, decodePort, decodePrefix } from "./decode-fields.js";
import { PROTOCOL_NAMES, type IngressEntry, type PortRange, type ProtocolNumber, type RuleConfig } from "./model.js";
import { validateRule } from "./validate-rule.js";
import { isNullNode, mapEntries, posOf, scalarText, typeError, type DocContext, type Entry } from "./yaml-nodes.js";

export const RULE_KIND = "NetworkRuleConfig";

const TOP_KEYS = new Set(["apiVersion", "kind", "name", "portSelector", "ingress"]);
const SELECTOR_KEYS = new Set(["ports", "protocol"]);
const ENTRY_KEYS = new Set(["subnet", "except"]);

export interface DecodedRule {
  readonly rule: RuleConfig;
  readonly diagnostics: Diagnostic[];
  /** Position of the `name` value, or the document's first key (for duplicate reports). */
  readonly idPos: SourcePos;
}

export function ruleDocId(name: string): string {
  return `${RULE_KIND}/${name}`;
}

/** `entries` are the root mapping's; the caller collected its duplicate keys into rootDiags. */
export function decodeRule(ctx: DocContext, entries: readonly Entry[], docPos: SourcePos, rootDiags: Diagnostic[]): DecodedRule {
  const diags: Diagnostic[] = [];
  const nameEntry = entries.find((e) => e.key === "name");
  let name = "";
  if (nameEntry && nameEntry.value && isScalar(nameEntry.value)) name = scalarText(ctx, nameEntry.value);
  const docId = ruleDocId(name);
  const error = (pos: SourcePos, path: string, message: string, hint?: string) =>
    diags.push({ severity: "error", pos, docId, path, message, ...(hint ? { hint } : {}) });
  // Duplicate-key errors found on the root belong to this document.
  for (const d of rootDiags.splice(0)) diags.push({ ...d, docId });

  let nameFailed = false;
  let apiVersionSeen = false;
  let ports: PortRange[] = [];
  let portsFailed = false;
  let portsPos = docPos;
  let protocol: ProtocolNumber = 0;
  let protocolSet = false;
  let protocolPos = docPos;
  let ingress: IngressEntry[] = [];
  let ingressPos = docPos;
  const failedSubnets = new Set<number>();

  for (const e of entries) {
    if (!TOP_KEYS.has(e.key)) {
      error(e.keyPos, e.key, `unknown field ${JSON.stringify(e.key)}`);
      continue;
    }
    if (e.key === "apiVersion") {
      apiVersionSeen = true;
      const v = e.value && isScalar(e.value) ? scalarText(ctx, e.value) : "";
      if (v !== "v1alpha1") error(e.valuePos, "apiVersion", `unsupported apiVersion ${JSON.stringify(v)} for kind ${RULE_KIND}`);
    } else if (e.key === "name") {
      if (e.value && !isScalar(e.value)) {
        error(e.valuePos, "name", typeError("string", e.value));
        nameFailed = true;
      }
    } else if (e.key === "portSelector") {
      if (isNullNode(e.value)) continue;
      if (!isMap(e.value)) {
        error(e.valuePos, "portSelector", typeError("mapping", e.value));
        portsFailed = true;
        continue;
      }
      protocolPos = e.valuePos; // an absent protocol is reported at the mapping that should hold it
      portsPos = e.valuePos; // so is an absent ports list (§4.3)
      for (const s of mapEntries(ctx, e.value, (d) => error(d.pos, "portSelector", d.message), e.valuePos)) {
        if (!SELECTOR_KEYS.has(s.key)) {
          error(s.keyPos, `portSelector.${s.key}`, `unknown field ${JSON.stringify(s.key)}`);
        } else if (s.key === "ports") {
          portsPos = s.valuePos;
          const r = decodePorts(ctx, s, error);
          ports = r.ports;
          portsFailed = r.failed;
        } else {
          protocolPos = s.valuePos;
          if (isNullNode(s.value)) continue;
          const r = decodeEnum(ctx, s.value, PROTOCOL_NAMES, "Protocol", { "ipv6-icmp": "use icmpv6", icmp6: "use icmpv6" });
          if (r.ok) {
            protocol = r.value;
            protocolSet = true;
          } else error(s.valuePos, "portSelector.protocol", r.message, r.hint);
        }
      }
    } else if (e.key === "ingress") {
      ingressPos = e.valuePos;
      if (isNullNode(e.value)) continue;
      if (!isSeq(e.value)) {
        error(e.valuePos, "ingress", typeError("list", e.value));
        continue;
      }
      ingress = decodeIngress(ctx, e, error, failedSubnets);
    }
  }

  if (!apiVersionSeen) error(docPos, "apiVersion", `unsupported apiVersion "" for kind ${RULE_KIND}`);

  const rule: RuleConfig = {
    name,
    ports,
    protocol,
    protocolSet,
    ingress,
    pos: docPos,
    namePos: nameEntry?.valuePos ?? docPos,
    portsPos,
    protocolPos,
    ingressPos,
  };
  for (const v of validateRule(rule, { nameFailed, portsFailed, failedSubnets })) {
    error(v.pos, v.path, v.message);
    if (v.related) diags.push({ severity: "note", pos: v.related.pos, docId, message: v.related.message });
  }
  return { rule, diagnostics: diags, idPos: nameEntry?.valuePos ?? docPos };
}

type ErrorSink = (pos: SourcePos, path: string, message: string, hint?: string) => void;

function decodePorts(ctx: DocContext, e: Entry, error: ErrorSink): { ports: PortRange[]; failed: boolean } {
  if (isNullNode(e.value)) return { ports: [], failed: false };
  if (!isSeq(e.value)) {
    error(e.valuePos, "portSelector.ports", typeError("list", e.value));
    return { ports: [], failed: true };
  }
  const ports: PortRange[] = [];
  let failed = false;
  e.value.items.forEach((item, i) => {
    const node = item as Node | null;
    const pos = posOf(ctx, node, e.valuePos);
    const r = decodePort(ctx, node, pos);
    if (r.ok) ports.push(r.value);
    else {
      failed = true;
      error(pos, `portSelector.ports[${i}]`, r.message, r.hint);
    }
  });
  return { ports, failed };
}

function decodeIngress(ctx: DocContext, e: Entry, error: ErrorSink, failedSubnets: Set<number>): IngressEntry[] {
  const out: IngressEntry[] = [];
  if (!isSeq(e.value)) return out;
  e.value.items.forEach((item, i) => {
    const node = item as Node | null;
    const pos = posOf(ctx, node, e.valuePos);
    const path = `ingress[${i}]`;
    if (isNullNode(node)) {
      // An empty entry decodes to the zero value, as Go's YAML decoder does: validation reports its subnet.
      out.push({ subnet: null, except: null, pos, subnetPos: pos, exceptPos: null });
      return;
    }
    if (!isMap(node)) {
      error(pos, path, typeError("mapping", node));
      failedSubnets.add(out.length);
      out.push({ subnet: null, except: null, pos, subnetPos: pos, exceptPos: null });
      return;
    }
    let subnet = null;
    let except = null;
    let subnetPos = pos;
    let exceptPos: SourcePos | null = null;
    let subnetFailed = false;
    for (const f of mapEntries(ctx, node, (d) => error(d.pos, path, d.message), pos)) {
      if (!ENTRY_KEYS.has(f.key)) {
        error(f.keyPos, `${path}.${f.key}`, `unknown field ${JSON.stringify(f.key)}`);
        continue;
      }
      const isSubnet = f.key === "subnet";
      const r = decodePrefix(
        ctx,
        f.value,
        isSubnet ? undefined : "except takes one prefix; add another ingress entry for another except (excepts apply to the whole rule)",
      );
      if (isSubnet) subnetPos = f.valuePos;
      else exceptPos = f.valuePos;
      if (!r.ok) {
        error(f.valuePos, `${path}.${f.key}`, r.message, r.hint);
        if (isSubnet) subnetFailed = true;
        continue;
      }
      if (isSubnet) subnet = r.value;
      else except = r.value;
    }
    if (subnetFailed) failedSubnets.add(out.length);
    out.push({ subnet, except, pos, subnetPos, exceptPos });
  });
  return out;
}
