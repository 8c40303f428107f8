import CPangoCairo

// The Pango/Cairo kernel: the only code in ChannelFax that holds C pointers.
//
// Ownership, in one place:
// - `PDFCanvas` owns a Cairo PDF surface that writes into a Swift byte array (through an
//   `Unmanaged` box), the Cairo context drawing on it, and one Pango context for every layout of
//   the document. `deinit` releases all three, whatever happened.
// - `TextLayout` owns one `PangoLayout`; `deinit` unrefs it. Layouts keep their Pango context
//   alive by reference, so the order in which Swift ends the two lifetimes does not matter.
// - The Pango font map is the calling thread's default (`pango_cairo_font_map_get_default`,
//   one per thread since Pango 1.32.6, freed when the thread exits). Nothing here is shared
//   between threads, which is what makes `FaxRenderer` safe to call from any number of them.
//
// Both types are non-copyable, so a pointer can never be released twice or outlive its owner.
// Cairo reports failures as a status on the object (it never returns NULL); they are checked
// after creation and when the document is finished, and become `FaxError(.rendering)`.

/// A point on the page or a distance, in PDF points (1/72 inch).
typealias Points = Double

/// One line of a laid-out paragraph, in points relative to the layout's top left corner.
struct LineBox {
    /// Where the line starts (alignment included).
    var x: Points
    /// The top of the line's logical box.
    var top: Points
    /// Its height (ascent, descent and line spacing).
    var height: Points
    /// The baseline.
    var baseline: Points
}

/// The direction and alignment every layout of a document gets.
enum ReadingDirection {
    /// Persian: paragraphs are right-to-left and right-aligned.
    case rightToLeft
    /// English: left-to-right and left-aligned.
    case leftToRight
}

/// The PDF's document information (what `pdfinfo` shows).
struct PDFMetadata {
    var title: String
    var author: String
    var subject: String
    var creator: String
    /// ISO 8601, e.g. `2026-03-12T10:35:00Z`. Set explicitly so that the same document always
    /// gives the same bytes (Cairo would write the current time).
    var creationDate: String
}

/// Receives the PDF bytes Cairo writes, during drawing and when the surface is finished.
private final class PDFSink {
    var bytes: [UInt8] = []
    init(capacity: Int) { bytes.reserveCapacity(capacity) }
}

/// A multi-page PDF being drawn: a Cairo PDF surface writing into memory, a context, and the
/// Pango context its text is shaped with.
struct PDFCanvas: ~Copyable {
    private let sink: PDFSink
    private let surface: OpaquePointer
    private let cairo: OpaquePointer
    private let pango: OpaquePointer
    private let direction: ReadingDirection

    /// A canvas of `width` × `height` points whose text runs in `direction`.
    init(width: Points, height: Points, direction: ReadingDirection, metadata: PDFMetadata) throws(FaxError) {
        let sink = PDFSink(capacity: 48 << 10)
        // Cairo calls this for every chunk of the file; the closure is the sink, kept alive by
        // `self.sink` for as long as the surface exists (the surface is destroyed in deinit).
        guard let surface = cairo_pdf_surface_create_for_stream({ closure, data, length in
            guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
            let sink = Unmanaged<PDFSink>.fromOpaque(closure).takeUnretainedValue()
            sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return CAIRO_STATUS_SUCCESS
        }, Unmanaged.passUnretained(sink).toOpaque(), width, height) else {
            throw FaxError(.rendering, "Cairo could not create a PDF surface")
        }
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(surface)
            throw FaxError(.rendering, "Cairo could not create a PDF surface: \(Self.describe(status))")
        }
        for (key, value) in [(CAIRO_PDF_METADATA_TITLE, metadata.title), (CAIRO_PDF_METADATA_AUTHOR, metadata.author),
                             (CAIRO_PDF_METADATA_SUBJECT, metadata.subject), (CAIRO_PDF_METADATA_CREATOR, metadata.creator),
                             (CAIRO_PDF_METADATA_CREATE_DATE, metadata.creationDate)] {
            cairo_pdf_surface_set_metadata(surface, key, value)
        }
        guard let cairo = cairo_create(surface) else {
            cairo_surface_destroy(surface)
            throw FaxError(.rendering, "Cairo could not create a drawing context")
        }
        let contextStatus = cairo_status(cairo)
        guard contextStatus == CAIRO_STATUS_SUCCESS, let fontMap = pango_cairo_font_map_get_default(),
              let pango = pango_font_map_create_context(fontMap) else {
            cairo_destroy(cairo)
            cairo_surface_destroy(surface)
            throw FaxError(.rendering, "Cairo could not create a drawing context: \(Self.describe(contextStatus))")
        }
        // Font options and resolution of the PDF surface: unhinted metrics, so text is laid out
        // exactly as it will print at any fax resolution.
        pango_cairo_update_context(cairo, pango)
        // Pango rounds glyph positions to whole device units by default: whole points on a PDF
        // surface, which puts up to half a point between the letters of a joined Persian word and
        // makes text extraction (pdftotext, a recipient's copy and paste) split words apart.
        pango_context_set_round_glyph_positions(pango, 0)
        // PangoCairo assumes 96 dpi unless told; at 72 a font size in points is that many units
        // of the PDF page, so "12" prints as 12-point text.
        pango_cairo_context_set_resolution(pango, 72)
        pango_context_set_base_dir(pango, direction == .rightToLeft ? PANGO_DIRECTION_RTL : PANGO_DIRECTION_LTR)
        cairo_set_source_rgb(cairo, 0, 0, 0)
        self.sink = sink
        self.surface = surface
        self.cairo = cairo
        self.pango = pango
        self.direction = direction
    }

    deinit {
        g_object_unref(UnsafeMutableRawPointer(pango))
        cairo_destroy(cairo)
        cairo_surface_destroy(surface)
    }

    /// Shapes `text` in `font` (a Pango description such as `Noto Naskh Arabic, Noto Sans Bold 14`)
    /// and breaks it into lines of at most `width` points, in the document's direction. Each `\n`
    /// starts a new paragraph; words longer than a line are broken between characters.
    func layout(_ text: String, font: String, width: Points, alignment: TextAlignment = .start) -> TextLayout {
        TextLayout(context: pango, text: text, font: font, width: width, alignment: alignment, direction: direction)
    }

    /// Draws the whole `layout` with its top left corner at (`x`, `y`).
    func draw(_ layout: borrowing TextLayout, x: Points, y: Points) {
        cairo_move_to(cairo, x, y)
        pango_cairo_show_layout(cairo, layout.layout)
    }

    /// Draws the lines `range` of `layout` (indices into ``TextLayout/lines()``), each at
    /// (`x` + its own x, `y` + its own baseline).
    func draw(_ layout: borrowing TextLayout, lines range: Range<Int>, x: Points, y: Points, boxes: [LineBox]) {
        guard !range.isEmpty, let iterator = pango_layout_get_iter(layout.layout) else { return }
        defer { pango_layout_iter_free(iterator) }
        var index = 0
        while index < range.lowerBound {
            guard pango_layout_iter_next_line(iterator) != 0 else { return }
            index += 1
        }
        while index < range.upperBound {
            if let line = pango_layout_iter_get_line_readonly(iterator) {
                cairo_move_to(cairo, x + boxes[index].x, y + boxes[index].baseline)
                pango_cairo_show_layout_line(cairo, line)
            }
            index += 1
            guard pango_layout_iter_next_line(iterator) != 0 else { return }
        }
    }

    /// A horizontal rule `thickness` points thick from `x` to `x + width` at `y`.
    func rule(x: Points, y: Points, width: Points, thickness: Points) {
        cairo_rectangle(cairo, x, y, width, thickness)
        cairo_fill(cairo)
    }

    /// Ends the current page and starts the next.
    func showPage() {
        cairo_show_page(cairo)
    }

    /// Finishes the document (Cairo embeds the font subsets now) and returns the PDF's bytes.
    consuming func finish() throws(FaxError) -> [UInt8] {
        let drawing = cairo_status(cairo)
        guard drawing == CAIRO_STATUS_SUCCESS else {
            throw FaxError(.rendering, "Cairo failed while drawing the fax: \(Self.describe(drawing))")
        }
        cairo_surface_finish(surface)
        let finished = cairo_surface_status(surface)
        guard finished == CAIRO_STATUS_SUCCESS else {
            throw FaxError(.rendering, "Cairo could not finish the PDF: \(Self.describe(finished))")
        }
        return sink.bytes
    }

    /// Cairo's own words for a status.
    private static func describe(_ status: cairo_status_t) -> String {
        guard let text = cairo_status_to_string(status) else { return "status \(status.rawValue)" }
        return String(cString: text)
    }
}

/// Where lines sit across the layout's width: at the side reading starts from (right in Persian,
/// left in English) or the side it ends at.
enum TextAlignment {
    case start
    case end
}

/// One block of text shaped and broken into lines by Pango (a `PangoLayout`).
struct TextLayout: ~Copyable {
    fileprivate let layout: OpaquePointer

    fileprivate init(context: OpaquePointer, text: String, font: String, width: Points, alignment: TextAlignment,
                     direction: ReadingDirection) {
        guard let made = pango_layout_new(context) else {
            // GObject construction aborts the process when memory runs out instead of returning NULL.
            preconditionFailure("pango_layout_new returned NULL")
        }
        layout = made
        let description = pango_font_description_from_string(font)
        pango_layout_set_font_description(layout, description)  // copies it
        pango_font_description_free(description)
        // Every paragraph takes the document's direction, even one that starts with Latin text
        // (an IBAN in a Persian fax), so a Persian fax stays right-aligned line after line.
        pango_layout_set_auto_dir(layout, 0)
        let right = (direction == .rightToLeft) == (alignment == .start)
        pango_layout_set_alignment(layout, right ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT)
        pango_layout_set_width(layout, Int32(width * Double(PANGO_SCALE)))
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR)
        pango_layout_set_text(layout, text, Int32(text.utf8.count))
    }

    deinit {
        g_object_unref(UnsafeMutableRawPointer(layout))
    }

    /// The height of all lines, in points.
    var height: Points {
        var logical = PangoRectangle()
        pango_layout_get_extents(layout, nil, &logical)
        return Points(logical.height) / Points(PANGO_SCALE)
    }

    /// How many characters none of the fonts could show (Pango draws them as boxes with their code).
    var unknownGlyphs: Int { Int(pango_layout_get_unknown_glyphs_count(layout)) }

    /// Every line, top to bottom.
    func lines() -> [LineBox] {
        guard let iterator = pango_layout_get_iter(layout) else { return [] }
        defer { pango_layout_iter_free(iterator) }
        let scale = Points(PANGO_SCALE)
        var boxes: [LineBox] = []
        repeat {
            var logical = PangoRectangle()
            pango_layout_iter_get_line_extents(iterator, nil, &logical)
            let baseline = pango_layout_iter_get_baseline(iterator)
            boxes.append(LineBox(x: Points(logical.x) / scale, top: Points(logical.y) / scale,
                                 height: Points(logical.height) / scale, baseline: Points(baseline) / scale))
        } while pango_layout_iter_next_line(iterator) != 0
        return boxes
    }
}

/// Fonts as fontconfig resolves them on this machine, checked once when a renderer is made.
enum FontCheck {
    /// The family Pango actually uses for `font` (the first of its list that is installed, or
    /// fontconfig's substitute), and whether that font has a glyph for `probe`.
    static func resolve(_ font: String, probe: Unicode.Scalar) throws(FaxError) -> (family: String, covers: Bool) {
        guard let fontMap = pango_cairo_font_map_get_default(), let context = pango_font_map_create_context(fontMap) else {
            throw FaxError(.rendering, "Pango could not create a font context")
        }
        defer { g_object_unref(UnsafeMutableRawPointer(context)) }
        let description = pango_font_description_from_string(font)
        defer { pango_font_description_free(description) }
        pango_context_set_font_description(context, description)
        // The fontset covers the whole family list; ask it for the font it would use for `probe`.
        guard let fontset = pango_font_map_load_fontset(fontMap, context, description, pango_language_from_string("und")) else {
            throw FaxError(.font, "no font matches '\(font)': install fonts-noto-core (scripts/install-deps.sh)")
        }
        defer { g_object_unref(UnsafeMutableRawPointer(fontset)) }
        guard let chosen = pango_fontset_get_font(fontset, probe.value) else {
            throw FaxError(.font, "no installed font of '\(font)' has U+\(String(probe.value, radix: 16, uppercase: true)): install fonts-noto-core")
        }
        defer { g_object_unref(UnsafeMutableRawPointer(chosen)) }
        let covers = pango_font_has_char(chosen, probe.value) != 0
        guard let chosenDescription = pango_font_describe(chosen) else {
            throw FaxError(.font, "Pango could not describe the font it chose for '\(font)'")
        }
        defer { pango_font_description_free(chosenDescription) }
        let family = pango_font_description_get_family(chosenDescription).map { String(cString: $0) } ?? ""
        return (family, covers)
    }
}
