import { describe, expect, it } from 'vitest';
import { parseRemoteBrokers } from '../../services/gateway/src/bus/kafka-remote.js';

describe('parseRemoteBrokers', () => {
  it('reads regions and their broker lists', () => {
    expect(parseRemoteBrokers('eu-west-1=b-1.eu:9098,b-2.eu:9098; ap-south-1=b-1.ap:9098')).toEqual([
      { region: 'eu-west-1', brokers: ['b-1.eu:9098', 'b-2.eu:9098'] },
      { region: 'ap-south-1', brokers: ['b-1.ap:9098'] },
    ]);
    expect(parseRemoteBrokers('')).toEqual([]);
  });

  it('rejects what it cannot read, saying which part', () => {
    expect(() => parseRemoteBrokers('b-1.eu:9098')).toThrow(/<region>=/);
    expect(() => parseRemoteBrokers('eu-west-1=')).toThrow(/host:port/);
    expect(() => parseRemoteBrokers('eu-west-1=b-1.eu')).toThrow(/host:port/);
    expect(() => parseRemoteBrokers('x=h:1;x=h:2')).toThrow(/twice/);
  });
});
