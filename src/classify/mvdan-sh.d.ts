/**
 * Minimal ambient types for `mvdan-sh` (mvdan/sh's bash parser, transpiled to JS with GopherJS).
 * Nodes are GopherJS wrappers: fields are getters, `Pos()`/`End()` return byte positions. Only
 * `src/classify/parse.ts` touches these objects; it converts them into plain data at once.
 */
declare module 'mvdan-sh' {
  export interface GoPos {
    Offset(): number;
  }
  // The AST is dynamically shaped (a GopherJS object graph); parse.ts reads it defensively.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export type GoNode = any;
  export interface GoParser {
    Parse(src: string, name: string): GoNode;
  }
  export interface Syntax {
    NewParser(...opts: unknown[]): GoParser;
    KeepComments(on: boolean): unknown;
    Variant(v: unknown): unknown;
    LangBash: unknown;
    NodeType(node: GoNode): string;
    SplitBraces(word: GoNode): GoNode;
    Walk(node: GoNode, fn: (n: GoNode) => boolean): void;
  }
  const sh: { syntax: Syntax };
  export default sh;
}
