/// The OpenAPI 3 description of the HTTP API, served at `/openapi.json` (tests check that
/// every route the server answers is in it and that it parses).
enum OpenAPIDocument {
    static let json = #"""
{
 "openapi": "3.0.3",
 "info": {
  "title": "Chapar API",
  "version": "1",
  "description": "chapar serve: events in, deliveries out. Every /v1 call except gateway callbacks needs Authorization: Bearer <token> (server.tokens). Errors are {\"error\":{\"code\",\"message\",\"details\"}}."
 },
 "servers": [
  {
   "url": "/"
  }
 ],
 "security": [
  {
   "bearer": []
  }
 ],
 "paths": {
  "/healthz": {
   "get": {
    "summary": "Liveness: the process answers",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/readyz": {
   "get": {
    "summary": "Readiness: storage open and every service started",
    "responses": {
     "200": {
      "description": "ready",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     },
     "503": {
      "description": "starting or stopping",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/metrics": {
   "get": {
    "summary": "Prometheus metrics (text format 0.0.4); no customer data in labels",
    "responses": {
     "200": {
      "description": "metrics",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/openapi.json": {
   "get": {
    "summary": "This document",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/v1/events": {
   "post": {
    "summary": "Append one event or a batch (JSON object or array, the JSON Lines record format of docs/ingest.md). All or nothing; 202 once durable; duplicates by id are skipped",
    "responses": {
     "202": {
      "description": "durable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/IngestSummary"
        }
       }
      }
     },
     "400": {
      "description": "malformed JSON",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "413": {
      "description": "body too large",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "description": "invalid events; nothing appended",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "507": {
      "description": "disk full",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "oneOf": [
         {
          "$ref": "#/components/schemas/Event"
         },
         {
          "type": "array",
          "items": {
           "$ref": "#/components/schemas/Event"
          }
         }
        ]
       }
      }
     }
    }
   }
  },
  "/v1/ingest": {
   "post": {
    "summary": "Upload a bank file (CSV, JSON Lines, camt.054, MT940/MT942) and ingest it like `chapar ingest`",
    "responses": {
     "202": {
      "description": "ingested",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/IngestSummary"
        }
       }
      }
     },
     "400": {
      "description": "bad parameters",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "413": {
      "description": "body too large",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "description": "refused or unreadable",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "format",
      "in": "query",
      "required": false,
      "description": "auto, csv, jsonl, camt054 or mt940",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "name",
      "in": "query",
      "required": false,
      "description": "file name used in messages",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "encoding",
      "in": "query",
      "required": false,
      "description": "utf-8, windows-1256 or iso-8859-1",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "currency",
      "in": "query",
      "required": false,
      "description": "default currency",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "timezone",
      "in": "query",
      "required": false,
      "description": "time zone of local times",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "mode",
      "in": "query",
      "required": false,
      "description": "append (default) or strict",
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/octet-stream": {
       "schema": {
        "type": "string",
        "format": "binary"
       }
      }
     }
    }
   }
  },
  "/v1/transactions/{id}": {
   "get": {
    "summary": "The trace of one transaction: every job, attempt and delivery report",
    "responses": {
     "200": {
      "description": "trace",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "404": {
      "description": "no delivery recorded yet",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "event id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/deliveries": {
   "get": {
    "summary": "Jobs in the delivery ledger, most recent first",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "status",
      "in": "query",
      "required": false,
      "description": "queued, sent, delivered, failed, retrying, dead, expired, scheduled",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "channel",
      "in": "query",
      "required": false,
      "description": "sms, email, fax, im",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "customer",
      "in": "query",
      "required": false,
      "description": "customer id",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "since",
      "in": "query",
      "required": false,
      "description": "UTC milliseconds",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "1-1000",
      "schema": {
       "type": "integer"
      }
     }
    ]
   }
  },
  "/v1/deliveries/{job}": {
   "get": {
    "summary": "One job's story",
    "responses": {
     "200": {
      "description": "trace",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "404": {
      "description": "unknown job",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "job",
      "in": "path",
      "required": true,
      "description": "job id (32 hex digits)",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/dead-letters": {
   "get": {
    "summary": "Dead jobs",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "channel",
      "in": "query",
      "required": false,
      "description": "channel",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "1-1000",
      "schema": {
       "type": "integer"
      }
     }
    ]
   }
  },
  "/v1/dead-letters/replay": {
   "post": {
    "summary": "Send dead jobs again with a fresh retry budget",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
         "channel": {
          "type": "string"
         },
         "since": {
          "type": "integer"
         }
        }
       }
      }
     }
    }
   }
  },
  "/v1/customers": {
   "get": {
    "summary": "Customers",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "account",
      "in": "query",
      "required": false,
      "description": "only holders of this account",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "1-1000",
      "schema": {
       "type": "integer"
      }
     }
    ]
   },
   "post": {
    "summary": "Add a customer",
    "responses": {
     "201": {
      "description": "created",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Customer"
        }
       }
      }
     },
     "409": {
      "description": "exists",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "description": "invalid",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Customer"
       }
      }
     }
    }
   }
  },
  "/v1/customers/{id}": {
   "get": {
    "summary": "One customer",
    "responses": {
     "200": {
      "description": "customer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Customer"
        }
       }
      }
     },
     "404": {
      "description": "unknown",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "customer id",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "put": {
    "summary": "Replace a customer",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "customer id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Customer"
       }
      }
     }
    }
   },
   "delete": {
    "summary": "Remove a customer",
    "responses": {
     "204": {
      "description": "removed"
     },
     "404": {
      "description": "unknown",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "customer id",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "patch": {
    "summary": "Change some of a customer's settings (the options of `chapar customers set`)",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "customer id",
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
         "name": {
          "type": "string"
         },
         "language": {
          "type": "string"
         },
         "timezone": {
          "type": "string"
         },
         "birthday": {
          "type": "string"
         },
         "removeBirthday": {
          "type": "boolean"
         },
         "active": {
          "type": "boolean"
         },
         "channel": {
          "type": "string"
         },
         "address": {
          "type": "string"
         },
         "removeChannel": {
          "type": "boolean"
         },
         "minAmounts": {
          "type": "object",
          "additionalProperties": {
           "type": "string"
          }
         },
         "removeMinAmounts": {
          "type": "boolean"
         },
         "quietHours": {
          "type": "string"
         },
         "removeQuietHours": {
          "type": "boolean"
         },
         "events": {
          "type": "array",
          "items": {
           "type": "string"
          }
         }
        }
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "the customer after the change",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Customer"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "404": {
      "description": "unknown customer, or a channel it lacks",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "422": {
      "description": "invalid value",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/customers/{id}/channels/{channel}/enable": {
   "post": {
    "summary": "Enable a channel",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "customer id",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "channel",
      "in": "path",
      "required": true,
      "description": "sms, email, fax or im",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/customers/{id}/channels/{channel}/disable": {
   "post": {
    "summary": "Disable a channel",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "customer id",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "channel",
      "in": "path",
      "required": true,
      "description": "sms, email, fax or im",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/overview": {
   "get": {
    "summary": "Rates, latency percentiles, backlog and five minutes of history",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/topics": {
   "get": {
    "summary": "Topics with partitions, offsets, sizes and settings",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/topics/{topic}/records": {
   "get": {
    "summary": "A page of records",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "topic",
      "in": "path",
      "required": true,
      "description": "topic name",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "partition",
      "in": "query",
      "required": false,
      "description": "partition",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "offset",
      "in": "query",
      "required": false,
      "description": "first offset",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "1-500",
      "schema": {
       "type": "integer"
      }
     }
    ]
   }
  },
  "/v1/groups": {
   "get": {
    "summary": "Consumer groups: members, committed offsets, lag",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/gateways": {
   "get": {
    "summary": "Gateways: breaker, in-flight, rate, counters, last error",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/demo/inbox": {
   "get": {
    "summary": "With --demo: what the demo gateways received",
    "responses": {
     "200": {
      "description": "OK",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     },
     "401": {
      "description": "Missing or wrong bearer token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     }
    }
   }
  },
  "/v1/callbacks/kannel/{gateway}": {
   "get": {
    "summary": "Kannel delivery report (its own secret, not the bearer token)",
    "responses": {
     "200": {
      "description": "recorded",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     },
     "400": {
      "description": "malformed",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     },
     "403": {
      "description": "wrong secret",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    },
    "parameters": [
     {
      "name": "gateway",
      "in": "path",
      "required": true,
      "description": "gateway name",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "job",
      "in": "query",
      "required": false,
      "description": "job id",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "secret",
      "in": "query",
      "required": false,
      "description": "callback secret",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "type",
      "in": "query",
      "required": false,
      "description": "Kannel DLR type",
      "schema": {
       "type": "integer"
      }
     },
     {
      "name": "answer",
      "in": "query",
      "required": false,
      "description": "SMSC answer",
      "schema": {
       "type": "string"
      }
     }
    ],
    "security": []
   }
  }
 },
 "components": {
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer"
   }
  },
  "schemas": {
   "Error": {
    "type": "object",
    "required": [
     "error"
    ],
    "properties": {
     "error": {
      "type": "object",
      "required": [
       "code",
       "message"
      ],
      "properties": {
       "code": {
        "type": "string"
       },
       "message": {
        "type": "string"
       },
       "details": {
        "type": "array",
        "items": {
         "type": "string"
        }
       }
      }
     }
    }
   },
   "IngestSummary": {
    "type": "object",
    "properties": {
     "read": {
      "type": "integer"
     },
     "appended": {
      "type": "integer"
     },
     "duplicates": {
      "type": "integer"
     },
     "rejected": {
      "type": "integer"
     },
     "warnings": {
      "type": "integer",
      "description": "problems with the file that rejected no entry (every entry was appended)"
     },
     "rejects": {
      "type": "array",
      "items": {
       "type": "string"
      }
     },
     "warningDetails": {
      "type": "array",
      "items": {
       "type": "string"
      }
     }
    }
   },
   "Event": {
    "type": "object",
    "required": [
     "type",
     "id"
    ],
    "description": "A transaction or a message in the JSON Lines format of docs/ingest.md (unknown fields are refused)",
    "properties": {
     "type": {
      "type": "string",
      "enum": [
       "transaction",
       "message"
      ]
     },
     "id": {
      "type": "string"
     },
     "account": {
      "type": "string"
     },
     "direction": {
      "type": "string",
      "enum": [
       "debit",
       "credit"
      ]
     },
     "amount": {
      "type": "string"
     },
     "currency": {
      "type": "string"
     },
     "balance": {
      "type": "string"
     },
     "booked_at": {
      "type": "string"
     },
     "value_date": {
      "type": "string"
     },
     "description": {
      "type": "string"
     },
     "counterparty": {
      "type": "string"
     },
     "origin_channel": {
      "type": "string"
     },
     "customer": {
      "type": "string"
     },
     "kind": {
      "type": "string"
     },
     "template": {
      "type": "string"
     },
     "vars": {
      "type": "object"
     },
     "created_at": {
      "type": "string"
     },
     "expires_at": {
      "type": "string"
     }
    }
   },
   "Customer": {
    "type": "object",
    "required": [
     "id",
     "name",
     "language"
    ],
    "additionalProperties": false,
    "properties": {
     "id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "language": {
      "type": "string",
      "enum": [
       "fa",
       "en"
      ]
     },
     "timezone": {
      "type": "string"
     },
     "birthday": {
      "type": "string"
     },
     "active": {
      "type": "boolean"
     },
     "accounts": {
      "type": "array",
      "items": {
       "type": "string"
      }
     },
     "channels": {
      "type": "array",
      "items": {
       "type": "object",
       "required": [
        "channel",
        "address"
       ],
       "additionalProperties": false,
       "properties": {
        "channel": {
         "type": "string"
        },
        "address": {
         "type": "string"
        },
        "enabled": {
         "type": "boolean"
        },
        "events": {
         "type": "array",
         "items": {
          "type": "string"
         }
        },
        "minAmounts": {
         "type": "object",
         "additionalProperties": {
          "type": "string"
         }
        },
        "quietHours": {
         "type": "string"
        }
       }
      }
     }
    }
   }
  }
 }
}
"""#
}
