/**
 * make bench's measuring order and its ratios: rows compared with each other
 * are measured back to back, in alternating order, and a ratio is the median
 * of the per-round ratios.
 */
import { describe, expect, it } from 'vitest';
import { comparisonOrder, serpentine } from '../../bench/lib/order.ts';
import { pairedRatio, type Summary } from '../../bench/lib/stats.ts';

const summary = (perRound: number[], requestsPerSecond: number): Summary => ({
  rounds: perRound.length, requestsPerSecond, perRound, p50Ms: 1, p99Ms: 2, errors: 0, timeouts: 0,
});

describe('serpentine', () => {
  it('keeps the order in odd rounds and reverses it in even ones', () => {
    expect(serpentine(['a', 'b', 'c'], 1)).toEqual(['a', 'b', 'c']);
    expect(serpentine(['a', 'b', 'c'], 2)).toEqual(['c', 'b', 'a']);
    expect(serpentine(['a', 'b', 'c'], 3)).toEqual(['a', 'b', 'c']);
  });
});

describe('comparisonOrder', () => {
  // The rows as make bench lists them: ours first, then the classic stacks.
  const rows = [
    { name: 'apache-fcgid', comparedWith: 'mod_wsgi', connections: 16 },
    { name: 'apache-fcgid', comparedWith: 'mod_wsgi', connections: 64 },
    { name: 'nginx-fcgi', comparedWith: 'php-fpm', connections: 16 },
    { name: 'lighttpd-fcgi', comparedWith: 'nginx-fcgi', connections: 16 },
    { name: 'mod_wsgi', connections: 16 },
    { name: 'mod_wsgi', connections: 64 },
    { name: 'php-fpm', connections: 16 },
    { name: 'ceiling', connections: 16 },
  ];
  const label = (row: (typeof rows)[number]) => `${row.name} c${row.connections}`;

  it('puts every row right after what it is compared with, one connection count at a time', () => {
    expect(comparisonOrder(rows, (row) => row).map(label)).toEqual([
      'mod_wsgi c16', 'apache-fcgid c16',
      'mod_wsgi c64', 'apache-fcgid c64',
      'php-fpm c16', 'nginx-fcgi c16', 'lighttpd-fcgi c16',
      'ceiling c16',
    ]);
  });

  it('stands a row whose reference is not measured on its own', () => {
    const alone = rows.filter((row) => row.name !== 'nginx-fcgi');
    expect(comparisonOrder(alone, (row) => row).map(label)).toEqual([
      'mod_wsgi c16', 'apache-fcgid c16', 'mod_wsgi c64', 'apache-fcgid c64', 'lighttpd-fcgi c16', 'php-fpm c16', 'ceiling c16',
    ]);
  });
});

describe('pairedRatio', () => {
  it('is the median of the per-round ratios, not the ratio of the medians', () => {
    // Per round: 300/100 = 3, 200/100 = 2, 500/200 = 2.5 -> median 2.5.
    // The medians alone (300 and 100) would say 3.
    const ours = summary([300, 200, 500], 300);
    const theirs = summary([100, 100, 200], 100);
    expect(pairedRatio(ours, theirs)).toBe(2.5);
  });

  it('falls back to the ratio of the medians when the rounds do not pair up', () => {
    expect(pairedRatio(summary([300, 200], 250), summary([100, 100, 200], 100))).toBe(2.5);
    expect(pairedRatio(summary([300], 300), summary([0], 0))).toBe(Infinity);
  });
});
