/**
 * VS Code's activation figure for one extension, split by VS Code's own performance marks in the
 * extension host (code/extHost/willLoadExtensionCode/<id> and the like, 1 ms resolution). The
 * figure's code loading starts before VS Code awaits the extension's localized messages, and every
 * extension activated on the same event starts that await in the same loop: their requires then
 * run one after the other, so each one's figure also holds the requires queued ahead of its own.
 */

export interface ActivationParts {
  /** willLoadExtensionCode → didLoadExtensionCode of the extension: its require(), ms. */
  loadMs: number;
  /** willActivateExtension → didActivateExtension: its activate() (and the promise's resolution), ms. */
  activateMs: number;
  /** VS Code's figure minus both: code loading before the extension's own require, ms. */
  restMs: number;
  /** Extensions whose code VS Code loaded in that time (ids). */
  loadedMeanwhile: string[];
  /** Of restMs, the time their requires took (willLoad→didLoad, clipped to the rest), ms. */
  othersLoadMs: number;
}

/** The parts of `figureMs` for extension `id`, from the extension host's marks; undefined if a mark is missing. */
export function activationParts(marks: { name: string; startTime: number }[], id: string, figureMs: number): ActivationParts | undefined {
  const at = (what: string): number | undefined => marks.find((m) => m.name === `code/extHost/${what}/${id}`)?.startTime;
  const willLoad = at('willLoadExtensionCode');
  const didLoad = at('didLoadExtensionCode');
  const willActivate = at('willActivateExtension');
  const didActivate = at('didActivateExtension');
  if (willLoad === undefined || didLoad === undefined || willActivate === undefined || didActivate === undefined) return undefined;
  const loadMs = didLoad - willLoad;
  const activateMs = didActivate - willActivate;
  const restMs = Math.max(0, figureMs - loadMs - activateMs);
  // The figure's code loading began restMs before the extension's own require.
  const from = willLoad - restMs;
  const didLoadPrefix = 'code/extHost/didLoadExtensionCode/';
  const loaded = marks
    .filter((m) => m.name.startsWith(didLoadPrefix) && m.startTime > from && m.startTime <= willLoad && m.name !== `${didLoadPrefix}${id}`)
    .map((m) => {
      const ext = m.name.slice(didLoadPrefix.length);
      const began = marks.find((w) => w.name === `code/extHost/willLoadExtensionCode/${ext}`)?.startTime ?? m.startTime;
      return { ext, ms: m.startTime - Math.max(began, from) };
    });
  const othersLoadMs = loaded.reduce((sum, l) => sum + l.ms, 0);
  return { loadMs, activateMs, restMs, loadedMeanwhile: loaded.map((l) => l.ext), othersLoadMs };
}
