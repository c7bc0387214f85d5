/** A device the benchmark sends heartbeats for: created through the gateway's API, known to both servers. */
export interface BenchDevice {
  deviceId: string;
  secret: string;
  customerId: string;
}

export function basicAuthorization(device: BenchDevice): string {
  return `Basic ${Buffer.from(`${device.deviceId}:${device.secret}`, 'utf8').toString('base64')}`;
}

/** A heartbeat as an agent sends it; values differ a little per device, as they would in the field. */
export function heartbeatBody(index: number): string {
  return JSON.stringify({
    uptimeSec: 86_400 + index * 37,
    agentVersion: '1.4.2',
    metrics: {
      cpuPct: 12.5 + (index % 40),
      memPct: 41.2,
      diskPct: 63,
      tempC: 48.5 + (index % 10),
      load1: 0.42,
    },
    network: { gatewayReachable: true, dnsOk: true, latencyMs: 12.3 + (index % 7) },
  });
}
