// Compatibility profiles (§2): which Talos release line the compiled ruleset reproduces.

import type { ProfileName } from "../config/model.js";

export type { ProfileName };
export const PROFILE_NAMES: readonly ProfileName[] = ["talos", "talos-1.7"];

export interface Profile {
  readonly name: ProfileName;
  readonly ingressPriority: number; // P1
  readonly prerouting: boolean; // P2
  readonly counters: boolean; // P3
  readonly conntrackInAcceptMode: boolean; // P4
  readonly icmpTypeDrop: boolean; // P5
  readonly icmpBurst: number | null; // P6
  readonly hostDns: boolean; // P7
  /** P8: a cluster network config exists when the main document has `cluster.network` (true) or exists at all (false). */
  readonly clusterNetworkNeedsKey: boolean;
}

export const PROFILES: Record<ProfileName, Profile> = {
  talos: {
    name: "talos",
    ingressPriority: -140,
    prerouting: true,
    counters: true,
    conntrackInAcceptMode: true,
    icmpTypeDrop: true,
    icmpBurst: 5,
    hostDns: true,
    clusterNetworkNeedsKey: true,
  },
  "talos-1.7": {
    name: "talos-1.7",
    ingressPriority: 0,
    prerouting: false,
    counters: false,
    conntrackInAcceptMode: false,
    icmpTypeDrop: false,
    icmpBurst: null,
    hostDns: false,
    clusterNetworkNeedsKey: false,
  },
};

export const PREROUTING_PRIORITY = -110;
