import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyIp, destinationIp, embeddedV4, v6Bytes } from '../../src/egress/ip.js';

const cls = (s: string): string => {
  const ip = destinationIp(s);
  assert.ok(ip, `${s} should parse as an IP`);
  return classifyIp(ip);
};

test('ip: IPv4 ranges, in any spelling', () => {
  const cases: Array<[string, string]> = [
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['100.64.0.1', 'cgnat'],
    ['100.100.100.200', 'metadata'],
    ['100.128.0.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
  ];
  for (const [ip, want] of cases) assert.equal(cls(ip), want, ip);
});

test('ip: IPv6 ranges and embedded IPv4', () => {
  const cases: Array<[string, string]> = [
    ['2606:4700::1111', 'public'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['64:ff9b::7f00:1', 'loopback'], // NAT64 of 127.0.0.1
    ['64:ff9b::a9fe:a9fe', 'metadata'], // NAT64 of 169.254.169.254
    ['64:ff9b::808:808', 'reserved'], // NAT64 of a public address: unknown translator
    ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
    ['::127.0.0.1', 'loopback'], // deprecated compatible form
    ['2001::1', 'reserved'], // Teredo
  ];
  for (const [ip, want] of cases) assert.equal(cls(ip), want, ip);
});

test('ip: IPv4-mapped IPv6 is decided as the IPv4 it is', () => {
  assert.equal(destinationIp('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(destinationIp('[::ffff:7f00:1]'), '127.0.0.1');
  assert.equal(destinationIp('::ffff:169.254.169.254'), '169.254.169.254');
  assert.equal(destinationIp('example.com'), undefined);
  assert.equal(destinationIp('1.2.3.4.5'), undefined);
});

test('ip: v6Bytes expands :: and dotted tails', () => {
  assert.deepEqual(v6Bytes('::1'), [...Array(15).fill(0), 1]);
  assert.deepEqual(v6Bytes('fe80::'), [0xfe, 0x80, ...Array(14).fill(0)]);
  assert.deepEqual(v6Bytes('::ffff:1.2.3.4').slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  assert.equal(embeddedV4(v6Bytes('::ffff:1.2.3.4')), '1.2.3.4');
  assert.equal(embeddedV4(v6Bytes('2606:4700::1111')), undefined);
});
