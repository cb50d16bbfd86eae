/** A Map that forgets its oldest entries past a size limit: memos of where things live, never the truth. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly sizeMax: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.sizeMax) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
