import { describe, expect, it } from 'vitest';
import { contentLength, findLabeled, findSection, normalizeTitle, parseSections, parseTables, plain } from '../../src/parse/markdown.js';

describe('parseSections', () => {
  it('reads ATX headings of every level with line numbers and nested bodies', () => {
    const s = parseSections('# Title\nintro\n## A\na text\n### A.1\nsub\n## B\nb text\n');
    expect(s.map((x) => [x.level, x.title, x.line])).toEqual([
      [1, 'Title', 1],
      [2, 'A', 3],
      [3, 'A.1', 5],
      [2, 'B', 7],
    ]);
    expect(s[1]!.body).toBe('a text\n### A.1\nsub');
    expect(s[1]!.bodyLine).toBe(4);
  });

  it('reads setext headings without the underline in the body', () => {
    const s = parseSections('Known Issues\n------------\n- P0: crash\nOther\n=====\nx');
    expect(s.map((x) => [x.level, x.title, x.line, x.bodyLine])).toEqual([
      [2, 'Known Issues', 1, 3],
      [1, 'Other', 4, 6],
    ]);
    expect(s[0]!.body).toBe('- P0: crash');
  });

  it('reads bold-only lines as headings, with or without a colon', () => {
    const s = parseSections('**Known Issues:**\nnone\n**Code Review**\nLGTM');
    expect(s.map((x) => x.title)).toEqual(['Known Issues', 'Code Review']);
    expect(s[0]!.body).toBe('none');
  });

  it('ignores headings inside fenced code and closing-hash ATX decorations', () => {
    const s = parseSections('## Real ##\n```python\n# not a heading\n```\n~~~\n## Nope\n~~~\n');
    expect(s.map((x) => x.title)).toEqual(['Real']);
  });

  it('does not take a list item or table row over a --- line for a setext heading', () => {
    expect(parseSections('- item\n---\n').length).toBe(0);
    expect(parseSections('| a | b |\n---\n').length).toBe(0);
  });
});

describe('normalizeTitle / findSection', () => {
  it('normalises numbering, case, punctuation, emoji and plurals', () => {
    expect(normalizeTitle('## 3. Inference APIs:')).toBe('inference api');
    expect(normalizeTitle('✅ Monitoring Recommendations')).toBe('monitoring recommendation');
    expect(normalizeTitle('**Per-Class Performance**')).toBe('per class performance');
    expect(normalizeTitle('IV. Access')).toBe('access');
  });

  it('prefers an exact title, then a whole-word containment', () => {
    const s = parseSections('## Failure Mode Analysis\nx\n## Model\ny\n## Model Overview\nz\n');
    expect(findSection(s, 'Model Overview')!.line).toBe(5);
    expect(findSection(s, 'Failure Mode')!.title).toBe('Failure Mode Analysis');
    expect(findSection(s, 'Model')!.line).toBe(3);
    expect(findSection(s, 'Mode Analysis X')).toBeUndefined();
    expect(findSection(s, 'ode')).toBeUndefined();
  });
});

describe('contentLength', () => {
  it('counts content but not headings, markup, table rules or whitespace', () => {
    expect(contentLength('### Sub\n\n**  ** \n|---|---|\n> ')).toBe(0);
    expect(contentLength('  TBD  \n')).toBe(3);
    expect(contentLength('| a | b |\n|---|---|\n| 1 | 2 |')).toBe(4);
  });
});

describe('parseTables', () => {
  it('reads header, rows and line, with escaped pipes and optional outer pipes', () => {
    const t = parseTables('intro\n| Class | F1 |\n|:---|---:|\n| 0 | 0.9 |\n| a\\|b | 1 |\n\nafter | x');
    expect(t).toEqual([{ headers: ['Class', 'F1'], rows: [['0', '0.9'], ['a|b', '1']], line: 2 }]);
    expect(parseTables('Class | F1\n--- | ---\n0 | 0.5\n')[0]!.rows).toEqual([['0', '0.5']]);
  });

  it('needs a delimiter row', () => {
    expect(parseTables('| a | b |\n| 1 | 2 |')).toEqual([]);
  });
});

describe('findLabeled', () => {
  const label = /^test\s+acc(?:uracy)?\b/i;

  it('reads bullet, bold, "=", " - " and arrow forms with extra whitespace', () => {
    const text = ['- **Test Accuracy**: 99.2%', '*   Test Accuracy   =   0.992', '1. Test Acc - 98 %', 'Test accuracy → 97.5%', 'Test accuracy was great'].join('\n');
    expect(findLabeled(text, label)).toEqual([
      { label: 'Test Accuracy', value: '99.2%', line: 1 },
      { label: 'Test Accuracy', value: '0.992', line: 2 },
      { label: 'Test Acc', value: '98 %', line: 3 },
      { label: 'Test accuracy', value: '97.5%', line: 4 },
    ]);
  });

  it('reads two-column table rows but not header rows', () => {
    const text = '| Metric | Value |\n|---|---|\n| **Test Accuracy** | 99.2% |\n\n| Class | Recall | F1 |\n|---|---|---|\n| 9 | 0.944 | 0.971 |';
    expect(findLabeled(text, label)).toEqual([{ label: 'Test Accuracy', value: '99.2%', line: 3 }]);
    // "| Recall | F1 |" is a header: not recall = 1
    expect(findLabeled(text, /^recall\b/i)).toEqual([]);
  });

  it('plain strips emphasis and code marks', () => {
    expect(plain(' **`Test`  _Accuracy_** ')).toBe('Test Accuracy');
  });
});
