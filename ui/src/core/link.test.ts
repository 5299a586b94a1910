import { describe, expect, it } from 'vitest';
import { buildJoinLink, LinkError, parseJoinLink, targetFromLocation } from './link';

describe('join links (port of target.rs tests)', () => {
  it('turns a join link into a WebSocket URL, a session and a secret', () => {
    expect(parseJoinLink('http://192.168.1.5:7878/s/abc123')).toMatchObject({
      wsUrl: 'ws://192.168.1.5:7878/ws',
      session: 'abc123',
      secret: null,
    });
    expect(parseJoinLink('https://band.example:443/s/x').wsUrl).toBe('wss://band.example/ws');
    expect(parseJoinLink('127.0.0.1:9/s/q').wsUrl).toBe('ws://127.0.0.1:9/ws');
    expect(parseJoinLink('ws://h:1/ws?session=zz').session).toBe('zz');
    const t = parseJoinLink('  http://10.0.0.2:7878/s/abc#k=0123abcd ');
    expect(t.secret).toBe('0123abcd');
    expect(t.wsUrl).toBe('ws://10.0.0.2:7878/ws');
    expect(buildJoinLink(t.wsUrl, t.session, 'ffff')).toBe('http://10.0.0.2:7878/s/abc#k=ffff');
    expect(buildJoinLink('wss://band.example/ws', 'abc', 'ff')).toBe('https://band.example/s/abc#k=ff');
  });

  it('reads alternates and skips entries that are not IP:PORT', () => {
    const t = parseJoinLink('http://10.0.0.2:7878/s/abc#k=00&a=192.168.1.5:7878,[fd00::1]:7878,host:1,300.1.1.1:2');
    expect(t.alternates).toEqual(['ws://192.168.1.5:7878/ws', 'ws://[fd00::1]:7878/ws']);
    expect(t.secret).toBe('00');
  });

  it('explains bad links', () => {
    expect(() => parseJoinLink('ftp://h/s/a')).toThrow(/scheme "ftp"/);
    expect(() => parseJoinLink('http://h:1/nothing/here')).toThrow(LinkError);
    expect(() => parseJoinLink('http://h:1/')).toThrow(/no session/);
    expect(() => parseJoinLink('')).toThrow(LinkError);
  });

  it('keeps the secret exactly as found (no percent-decoding)', () => {
    expect(parseJoinLink('http://h:1/s/a#k=ab%20cd').secret).toBe('ab%20cd');
  });

  it('reads a page loaded from the host', () => {
    expect(targetFromLocation({ protocol: 'https:', host: 'h:8443', pathname: '/s/k7m2qx9pta', hash: '#k=dead&a=1.2.3.4:1' })).toEqual({
      wsUrl: 'wss://h:8443/ws',
      origin: 'https://h:8443',
      session: 'k7m2qx9pta',
      secret: 'dead',
      alternates: [],
    });
    expect(targetFromLocation({ protocol: 'http:', host: 'h', pathname: '/', hash: '' })).toBeNull();
    expect(targetFromLocation({ protocol: 'http:', host: 'h', pathname: '/s/abc', hash: '' })?.secret).toBeNull();
  });
});
