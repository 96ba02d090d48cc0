// `cdp match train|run|explain|eval` on a CSV file, as a user runs them: a specification file,
// a saved model reused on the same people, a pair explained, and mistakes reported.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cdp } from './lib/server.mjs';

// 60 people, each twice; the copy has a typo, a nickname or a missing field. Quoted fields
// with commas and a Latin name exercise the CSV reader.
function peopleCsv() {
  const firsts = ['robert', 'elizabeth', 'william', 'margaret', 'james', 'catherine'];
  const nicknames = { robert: 'bob', elizabeth: 'liz', william: 'bill', margaret: 'maggie',
                      james: 'jim', catherine: 'kate' };
  const lines = ['id,first_name,surname,dob,city,email,person'];
  for (let person = 0; person < 60; person++) {
    const first = firsts[person % firsts.length];
    const surname = `surname${person}`;
    const dob = `19${String(40 + (person % 50)).padStart(2, '0')}-0${1 + (person % 9)}-1${person % 9}`;
    const city = person % 2 ? '"Springfield, IL"' : 'Zürich';
    const email = `${first}.${surname}@example.com`;
    lines.push(`${person}a,${first},${surname},${dob},${city},${email},${person}`);
    const copy = [nicknames[first], `${surname}x`, dob, city, email];
    if (person % 3 === 0) copy[4] = '';
    if (person % 3 === 1) copy[0] = first;
    lines.push(`${person}b,${copy.join(',')},${person}`);
  }
  return lines.join('\n') + '\n';
}

describe('cdp match', () => {
  let dir;
  let csv;
  let spec;
  let model;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cdp-match-'));
    csv = path.join(dir, 'people.csv');
    spec = path.join(dir, 'match.toml');
    model = path.join(dir, 'model.json');
    writeFileSync(csv, peopleCsv());
    writeFileSync(spec, `[columns]
first_name = "first_name"
surname = "surname"
dob = "date"
city = "place"
email = "email"

[settings]
threshold = 0.9
u_sample_pairs = 20000
`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains a model without labels and saves it', async () => {
    const result = await cdp('match', 'train', '--file', csv, '--spec', spec, '--out', model);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /trained on 120 records/);
    const saved = JSON.parse(readFileSync(model, 'utf8'));
    assert.equal(saved.format, 'cdp-match-model');
    assert.equal(saved.comparisons.length, 5);
    for (const comparison of saved.comparisons) {
      assert.equal(comparison.m.length, comparison.levels.length);
    }
  });

  it('runs the saved model and puts each person\'s two records together', async () => {
    const out = path.join(dir, 'clusters.csv');
    const result = await cdp('match', 'run', '--model', model, '--file', csv, '--out', out);
    assert.equal(result.code, 0, result.stderr);
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'file,row,cluster');
    assert.equal(rows.length, 121);
    const clusterOfRow = new Map(rows.slice(1).map((line) => {
      const [, row, cluster] = line.split(',');
      return [Number(row), cluster];
    }));
    let together = 0;
    for (let person = 0; person < 60; person++) {
      // Person p's records are rows 2 + 2p and 3 + 2p (the header is row 1).
      if (clusterOfRow.get(2 + 2 * person) === clusterOfRow.get(3 + 2 * person)) together++;
    }
    assert.ok(together >= 57, `${together} of 60 people matched`);
    assert.ok(new Set(clusterOfRow.values()).size >= 60);
  });

  it('explains a pair field by field, and the parts add up', async () => {
    const result = await cdp('match', 'explain', '--model', model, '--file', csv,
                             '--pair', '2,3', '--json');
    assert.equal(result.code, 0, result.stderr);
    const explanation = JSON.parse(result.stdout);
    const first = explanation.fields.find((field) => field.comparison === 'first_name');
    assert.equal(first.level, 'nickname');
    const sum = explanation.fields.reduce((total, field) => total + field.counted,
                                          explanation.prior_weight);
    assert.ok(Math.abs(sum - explanation.weight) < 1e-6);
    assert.ok(explanation.probability > 0.9);
    const text = await cdp('match', 'explain', '--model', model, '--file', csv, '--pair', '2,4');
    assert.match(text.stdout, /match weight -?\d/);
  });

  it('evaluates a saved model against the truth column', async () => {
    const result = await cdp('match', 'eval', '--model', model, '--file', csv, '--truth',
                             'person', '--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.records, 120);
    assert.ok(report.f1 >= 0.95, `F1 ${report.f1}`);
    assert.ok(report.precision >= 0.98);
  });

  it('reports mistakes with what to do, exit code 2', async () => {
    const badSpec = path.join(dir, 'bad.toml');
    writeFileSync(badSpec, '[columns]\nfirst_name = "given"\n');
    let result = await cdp('match', 'train', '--file', csv, '--spec', badSpec, '--out', model);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /bad\.toml: \[columns\] first_name: the kind must be one of/);

    writeFileSync(badSpec, '[columns]\nnickname = "first_name"\n');
    result = await cdp('match', 'train', '--file', csv, '--spec', badSpec, '--out', model);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no column "nickname" in the header/);

    result = await cdp('match', 'explain', '--model', model, '--file', csv, '--pair', '2,999');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no record at row 999/);

    const broken = path.join(dir, 'broken.csv');
    writeFileSync(broken, 'first_name,surname\n"unterminated,x\n');
    result = await cdp('match', 'eval', '--file', broken, '--column', 'first_name=first_name',
                       '--truth', 'surname');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /broken\.csv: row 2/);
  });
});
