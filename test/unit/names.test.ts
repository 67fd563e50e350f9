/** The per-region list both buses' remotes are written in. */
import { describe, expect, it } from 'vitest';
import { splitByRegion } from '../../services/shared/src/names.js';

describe('splitByRegion', () => {
  it('splits <region>=<value>;… and trims around the parts', () => {
    expect(splitByRegion(' a=x:1,y:2 ; b = rediss://h:6379 ;')).toEqual([
      { region: 'a', value: 'x:1,y:2', part: 'a=x:1,y:2' },
      { region: 'b', value: 'rediss://h:6379', part: 'b = rediss://h:6379' },
    ]);
    expect(splitByRegion('')).toEqual([]);
  });

  it('refuses a part without a valid region, and a region named twice', () => {
    expect(() => splitByRegion('x:1')).toThrow('"x:1" does not start with <region>=');
    expect(() => splitByRegion('EU=x:1')).toThrow(/does not start with <region>=/);
    expect(() => splitByRegion('a=x:1;a=y:1')).toThrow('region a appears twice');
  });

  it('shows a bad part only through the caller, which may hide a password', () => {
    expect(() => splitByRegion('rediss://:secret@h:1', () => '<hidden>')).toThrow(
      '<hidden> does not start with <region>=',
    );
  });
});
