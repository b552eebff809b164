import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareImages, promotionText, tagOf, versionOf } from '../../shared/promotion.js';

describe('tagOf', () => {
  it.each([
    ['registry.example.com/web:1.5.0', '1.5.0'],
    ['registry.example.com:5000/team/web:1.5.0', '1.5.0'],
    ['registry.example.com:5000/team/web', undefined],
    ['web@sha256:abcd', undefined],
    ['web:1.2.3@sha256:abcd', '1.2.3'],
  ])('%s → %s', (image, tag) => {
    expect(tagOf(image)).toBe(tag);
  });
});

describe('compareImages', () => {
  it.each<[string, string, 'semver' | 'date' | 'any', boolean]>([
    ['r/web:1.5.0', 'r/web:1.4.2', 'semver', true],
    ['r/web:1.10.0', 'r/web:1.9.9', 'semver', true],
    ['r/web:v2.0.0', 'r/web:1.99.0', 'semver', true],
    ['r/web:1.4.2', 'r/web:1.5.0', 'semver', false],
    ['r/web:1.5.0', 'r/web:1.5.0-rc.1', 'semver', true],
    ['r/web:1.5.0-rc.2', 'r/web:1.5.0-rc.10', 'semver', false],
    ['r/web:1.5.0-beta', 'r/web:1.5.0-alpha.1', 'semver', true],
    ['r/web:1.5.0+build.2', 'r/web:1.5.0+build.1', 'semver', false],
    ['r/web:20261130', 'r/web:20261129', 'date', true],
    ['r/web:2026-11-30-1542', 'r/web:2026-11-30-0900', 'date', true],
    ['r/web:release-20261130.2', 'r/web:release-20261130.10', 'date', false],
    ['r/web:20261129', 'r/web:20261130', 'date', false],
    ['r/web:abc', 'r/web:def', 'any', true],
    ['r/web:abc', 'r/web:abc', 'any', false],
  ])('%s newer than %s by %s: %s', (a, b, rule, newer) => {
    expect(compareImages(a, b, rule)).toMatchObject({ newer, comparable: true });
  });

  it('says which image it cannot read by the rule, and never counts it newer', () => {
    expect(compareImages('r/web:latest', 'r/web:1.4.2', 'semver')).toEqual({ newer: false, comparable: false, reason: 'latest is not a semantic version' });
    expect(compareImages('r/web:1.5.0', 'r/web:main', 'semver')).toEqual({ newer: false, comparable: false, reason: 'main is not a semantic version' });
    expect(compareImages('r/web:1.5.0', 'r/web:20261130', 'date')).toMatchObject({ newer: false, comparable: false, reason: '1.5.0 has no date stamp' });
  });

  it('semver: a strict order (never both ways newer, never newer than itself)', () => {
    const v = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20), fc.option(fc.constantFrom('rc.1', 'rc.2', 'rc.10', 'alpha', 'beta.3'), { nil: undefined }))
      .map(([a, b, c, pre]) => `r/web:${a}.${b}.${c}${pre ? `-${pre}` : ''}`);
    fc.assert(
      fc.property(v, v, (x, y) => {
        const xy = compareImages(x, y, 'semver').newer;
        const yx = compareImages(y, x, 'semver').newer;
        expect(xy && yx).toBe(false);
        if (x !== y) expect(xy || yx).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('promotionText', () => {
  it('is the one-line alert: versions, every environment reached, every one skipped and why', () => {
    expect(
      promotionText({
        project: 'projb',
        service: 'service1',
        image: 'r/s1:1.5.0',
        reached: [{ environment: 'projb-dev', from: 'r/s1:1.4.2' }, { environment: 'projb-qa', from: 'r/s1:1.4.2' }],
        skipped: [{ environment: 'projb-uat', reason: 'tracks feature/x' }],
        failed: [],
      }),
    ).toBe('projb: service1 1.4.2 → 1.5.0 reached projb-dev, projb-qa (promoted from production); projb-uat skipped: tracks feature/x');
    expect(versionOf('r/s1@sha256:ab')).toBe('r/s1@sha256:ab');
  });
});
