// A lab host and a container behind it, as every part of the lab names them.

export interface LabHost {
  name: string;
  ns: string;
  /** Address on the underlay, without the prefix length. */
  ip: string;
}

export interface LabContainer {
  name: string;
  ns: string;
  ip: string;
  host: LabHost;
}
