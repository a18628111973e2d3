import { describe, expect, it } from 'vitest';
import {
  contentLength,
  findSection,
  findSections,
  normalizeTitle,
  parseMarkdown,
  plain,
  sectionCode,
  sectionLines,
  sectionTables,
  sourceLine,
  splitLabeled,
  titlePath,
} from '../../src/parse/markdown.js';

const doc = (text: string) => parseMarkdown(text, 'doc.md');

describe('parseMarkdown: section tree', () => {
  it('reads ATX headings of every level with lines, nesting sub-sections as children', () => {
    const d = doc('# Title\nintro\n## A\na text\n### A.1\nsub\n## B\nb text\n');
    expect(d.sections.map((x) => [x.level, x.title, x.line])).toEqual([
      [1, 'Title', 1],
      [2, 'A', 3],
      [3, 'A.1', 5],
      [2, 'B', 7],
    ]);
    const a = d.sections[1]!;
    expect(a.children.map((c) => c.title)).toEqual(['A.1']);
    expect(sectionLines(a, false).map((l) => [l.text, l.line])).toEqual([['a text', 4]]);
    expect(sectionLines(a).map((l) => l.text)).toEqual(['a text', 'sub']);
    expect(titlePath(a.children[0]!)).toEqual(['Title', 'A', 'A.1']);
  });

  it('reads setext headings; the body starts after the underline', () => {
    const d = doc('Known Issues\n------------\n- P0: crash\n\nOther\n=====\nx');
    expect(d.sections.map((x) => [x.level, x.title, x.line, x.bodyLine])).toEqual([
      [2, 'Known Issues', 1, 3],
      [1, 'Other', 5, 7],
    ]);
    expect(sectionLines(d.sections[0]!).map((l) => [l.text, l.line, l.kind])).toEqual([['P0: crash', 3, 'item']]);
  });

  it('reads a bold-only line as a heading one level below its parent, with or without a colon', () => {
    const d = doc('# Report\n**Known Issues:**\nnone\n\n**Code Review**\nLGTM\n## Next\n');
    expect(d.sections.map((x) => [x.level, x.title, x.bold])).toEqual([
      [1, 'Report', false],
      [2, 'Known Issues', true],
      [2, 'Code Review', true],
      [2, 'Next', false],
    ]);
    expect(sectionLines(d.sections[1]!).map((l) => [l.text, l.line])).toEqual([['none', 3]]);
    // "**Seed**: 42" is a label, not a heading; a bold value or a bold line with nothing after it is text
    expect(doc('**Seed**: 42').sections).toEqual([]);
    expect(doc('## Results\n\n**Test Accuracy: 99.2%**\n\nmore\n').sections.map((x) => x.title)).toEqual(['Results']);
    const last = doc('## Target Achievement\n\n**Target met: ninety-nine percent against eighty**\n\n## Next\n');
    expect(last.sections.map((x) => x.title)).toEqual(['Target Achievement', 'Next']);
    expect(contentLength(last.sections[0]!)).toBeGreaterThan(20);
    expect(contentLength(doc('## A\n\n**Sub heading**\n\nbody text\n').sections[0]!)).toBe('Subheadingbodytext'.length);
  });

  it('numbered titles, emoji and plurals normalise; exact titles win over containment', () => {
    expect(normalizeTitle('## 3. Inference APIs:')).toBe('inference api');
    expect(normalizeTitle('✅ Monitoring Recommendations')).toBe('monitoring recommendation');
    expect(normalizeTitle('**Per-Class Performance**')).toBe('per class performance');
    expect(normalizeTitle('IV. Access')).toBe('access');
    const d = doc('## 3. Known Issues\nx\n## Failure Mode Analysis\nx\n## Model\ny\n## Model Overview\nz\n');
    expect(findSection(d, 'Known Issues')!.line).toBe(1);
    expect(findSection(d, 'Model Overview')!.line).toBe(7);
    expect(findSection(d, 'Failure Mode')!.title).toBe('Failure Mode Analysis');
    expect(findSection(d, 'Model')!.line).toBe(5);
    expect(findSection(d, 'Mode Analysis X')).toBeUndefined();
    expect(findSection(d, 'ode')).toBeUndefined();
    expect(
      findSections(doc('## Notes\n## Known Issues\na\n## Known issues\nb\n'), 'Known Issues').map((s) => s.line),
    ).toEqual([2, 4]);
  });

  it('last: the name\'s words in order with others between ("Monitoring & Alerting Recommendations")', () => {
    const d = doc('## Monitoring & Alerting Recommendations\na\n## Recommendations for Monitoring\nb\n');
    expect(findSections(d, 'Monitoring Recommendations').map((s) => s.line)).toEqual([1]);
    // A contiguous match wins over words in order.
    const both = doc('## Monitoring and Alerting Recommendations\na\n## Production Monitoring Recommendations\nb\n');
    expect(findSections(both, 'Monitoring Recommendations').map((s) => s.line)).toEqual([3]);
    // Every word must be there: "## Monitoring" alone is not "Monitoring Recommendations".
    expect(findSection(doc('## Monitoring\na\n'), 'Monitoring Recommendations')).toBeUndefined();
  });

  it('headings inside fenced code and a "---" under a list item or table are not headings', () => {
    expect(
      doc('## Real ##\n```python\n# not a heading\n```\n~~~\n## Nope\n~~~\n').sections.map((x) => x.title),
    ).toEqual(['Real']);
    expect(doc('- item\n---\n').sections).toEqual([]);
    expect(doc('| a | b |\n|---|---|\n| 1 | 2 |\n---\n').sections).toEqual([]);
  });
});

describe('blocks', () => {
  it('GFM tables: header, rows, each row with its line; escaped pipes; optional outer pipes', () => {
    const d = doc('intro\n\n| Class | F1 |\n|:---|---:|\n| 0 | 0.9 |\n| a\\|b | **1** |\n\nafter | x');
    expect(sectionTables(d.root).map((t) => t.table)).toEqual([
      {
        headers: ['Class', 'F1'],
        rows: [
          ['0', '0.9'],
          ['a|b', '1'],
        ],
        line: 3,
        rowLines: [5, 6],
      },
    ]);
    expect(sectionTables(doc('Class | F1\n--- | ---\n0 | 0.5\n').root)[0]!.table.rows).toEqual([['0', '0.5']]);
    expect(sectionTables(doc('| a | b |\n| 1 | 2 |').root)).toEqual([]);
  });

  it('code blocks keep their content lines (pasted output is data) with file lines', () => {
    const d = doc('# R\n\n```text\n  accuracy   0.99  360\n```\n\n    indented 1\n');
    expect(sectionCode(d.root).map((c) => [c.lang, c.lines.map((l) => [l.text, l.line])])).toEqual([
      ['text', [['  accuracy   0.99  360', 4]]],
      [null, [['indented 1', 7]]],
    ]);
  });

  it('list items keep task state and nested lines; multi-line paragraphs keep each line', () => {
    const d = doc('- [x] P1: crash\n  - Status: fixed\n- [ ] P2: slow\n\nTest Accuracy: 99%\nF1: 0.9\n');
    const lines = sectionLines(d.root);
    expect(lines.map((l) => [l.text, l.line, l.kind])).toEqual([
      ['P1: crash', 1, 'item'],
      ['Status: fixed', 2, 'item'],
      ['P2: slow', 3, 'item'],
      ['Test Accuracy: 99%', 5, 'text'],
      ['F1: 0.9', 6, 'text'],
    ]);
    expect(lines[0]!.item!.checked).toBe(true);
    expect(lines[2]!.item!.checked).toBe(false);
  });

  it('HTML comments and empty bodies are empty; markup does not count as content', () => {
    const d = doc(
      '## A\n<!-- TODO: fill in -->\n\n## B\n\n**  **\n\n## C\n  TBD  \n## D\n| a | b |\n|---|---|\n| 1 | 2 |\n## E\n### Sub\n',
    );
    expect(d.sections.map((s) => contentLength(s))).toEqual([0, 0, 3, 4, 0, 0]);
  });

  it('CRLF parses the same, and the source line is kept for quoting', () => {
    const d = doc('## Code Review\r\n\r\nReviewed by `A. B.`: **approved**\r\n');
    expect(findSection(d, 'Code Review')!.line).toBe(1);
    expect(sectionLines(d.root)[0]).toMatchObject({ text: 'Reviewed by A. B.: approved', line: 3 });
    expect(sourceLine(d, 3)).toBe('Reviewed by `A. B.`: **approved**');
  });
});

describe('labels', () => {
  it('splitLabeled reads ":", "=", " - " and "→" forms', () => {
    expect(
      [
        'Test Accuracy: 99.2%',
        'Test Accuracy   =   0.992',
        'Test Acc - 98 %',
        'Test accuracy → 97.5%',
        'Test accuracy was great',
      ].map(splitLabeled),
    ).toEqual([
      { label: 'Test Accuracy', value: '99.2%' },
      { label: 'Test Accuracy', value: '0.992' },
      { label: 'Test Acc', value: '98 %' },
      { label: 'Test accuracy', value: '97.5%' },
      null,
    ]);
  });

  it('plain strips emphasis and code marks', () => {
    expect(plain(' **`Test`  _Accuracy_** ')).toBe('Test Accuracy');
  });
});
