/** Reads the cells of a story's `StreamReport` in a play function. */
type Canvas = { getByTestId(id: string): HTMLElement }

export const cell = (canvas: Canvas, name: string) => canvas.getByTestId(`report-${name.replaceAll(' ', '-')}`).textContent
export const num = (canvas: Canvas, name: string) => Number(cell(canvas, name))
/** What says a stream lost and repeated nothing: its status, gaps and repeats. */
export const intact = (canvas: Canvas) => [cell(canvas, 'status'), cell(canvas, 'gaps'), cell(canvas, 'repeats')]
