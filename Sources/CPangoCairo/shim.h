#ifndef CPANGOCAIRO_SHIM_H
#define CPANGOCAIRO_SHIM_H
/* Pango (text shaping and line breaking, with HarfBuzz and FriBidi underneath) and Cairo's PDF
   surface, for the fax documents of ChannelFax. Every call ChannelFax makes is a plain C function
   that Swift imports as it is; no variadic function (g_object_set, g_markup_printf_escaped) and no
   function-like macro (PANGO_PIXELS, G_OBJECT) is used, so no wrapper is needed here. */
#include <pango/pangocairo.h>
#include <cairo-pdf.h>
#endif
