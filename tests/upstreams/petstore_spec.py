"""The petstore upstream's OpenAPI documents (``str.format`` templates: ``{server}``,
``{extra}``), apart from the server code."""

SPEC = """\
openapi: 3.1.0
info:
  title: Test Petstore
  version: 1.2.0
  description: A petstore for tests.
servers:
  - url: {server}
tags:
  - name: pets
  - name: store
paths:
{extra}  /pets:
    get:
      tags: [pets]
      operationId: listPets
      summary: List all pets
      security: [{{apiKey: []}}]
      parameters:
        - $ref: '#/components/parameters/Limit'
        - name: status
          in: query
          schema: {{type: string, enum: [available, pending, sold]}}
      responses:
        '200':
          description: the pets
          content:
            application/json:
              schema: {{type: array, items: {{$ref: '#/components/schemas/Pet'}}}}
    post:
      tags: [pets]
      operationId: createPet
      summary: Create a pet
      security: [{{apiKey: []}}]
      requestBody:
        $ref: '#/components/requestBodies/NewPet'
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Pet'}}
  /pets/{{petId}}:
    parameters:
      - name: petId
        in: path
        required: true
        schema: {{type: integer}}
    get:
      tags: [pets]
      operationId: showPetById
      summary: Info for a specific pet
      security: [{{apiKey: []}}]
      parameters:
        - name: X-Request-Id
          in: header
          schema: {{type: string}}
      responses:
        '200':
          description: the pet
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Pet'}}
        default:
          $ref: '#/components/responses/Error'
    delete:
      tags: [pets]
      operationId: deletePet
      summary: Delete a pet
      security: [{{apiKey: []}}]
      responses:
        '204': {{description: deleted}}
  /store/inventory:
    get:
      tags: [store]
      operationId: getInventory
      summary: Returns pet inventories by status
      security: [{{bearerAuth: []}}]
      responses:
        '200':
          description: counts
          content:
            application/json:
              schema: {{type: object, additionalProperties: {{type: integer}}}}
  /store/orders:
    post:
      tags: [store]
      operationId: placeOrder
      summary: Place an order for a pet
      security: [{{bearerAuth: []}}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: '#/components/schemas/Order'}}
      responses:
        '200':
          description: the order
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Order'}}
  /echo:
    get:
      operationId: echo
      summary: Echo what arrived
      parameters:
        - {{name: q, in: query, schema: {{type: array, items: {{type: string}}}}}}
        - {{name: flag, in: query, schema: {{type: boolean}}}}
        - {{name: session, in: cookie, schema: {{type: string}}}}
      responses:
        '200':
          description: what arrived
          content: {{application/json: {{schema: {{type: object}}}}}}
  /fail/500:
    get:
      {{tags: [failures], operationId: serverError, responses: {{'200': {{description: never}}}}}}
  /fail/invalid-json:
    get: {{tags: [failures], operationId: invalidJson, responses: {{'200': {{description: bad}}}}}}
  /fail/huge:
    get: {{tags: [failures], operationId: hugeBody, responses: {{'200': {{description: big}}}}}}
  /fail/slow:
    get: {{tags: [failures], operationId: slowBody, responses: {{'200': {{description: slow}}}}}}
  /fail/redirect-loop:
    get:
      {{tags: [failures], operationId: redirectLoop, responses: {{'200': {{description: loop}}}}}}
  /fail/text:
    get: {{tags: [failures], operationId: plainText, responses: {{'200': {{description: text}}}}}}
  /fail/binary:
    get: {{tags: [failures], operationId: binaryBody, responses: {{'200': {{description: bytes}}}}}}
  /fail/redirect-out:
    get:
      tags: [failures]
      operationId: redirectOut
      security: [{{apiKey: []}}]
      parameters:
        - {{name: to, in: query, required: true, schema: {{type: string}}}}
      responses: {{'200': {{description: elsewhere}}}}
components:
  securitySchemes:
    apiKey: {{type: apiKey, in: header, name: X-API-Key}}
    bearerAuth: {{type: http, scheme: bearer}}
  parameters:
    Limit:
      name: limit
      in: query
      description: How many pets to return at most
      schema: {{type: integer, maximum: 100}}
  requestBodies:
    NewPet:
      required: true
      content:
        application/json:
          schema: {{$ref: '#/components/schemas/NewPet'}}
  responses:
    Error:
      description: an error
      content:
        application/json:
          schema: {{$ref: '#/components/schemas/Error'}}
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {{type: integer, format: int64}}
        name: {{type: string}}
        tag: {{type: string}}
        status: {{type: string, enum: [available, pending, sold]}}
        owner: {{$ref: '#/components/schemas/Owner'}}
    Owner:
      type: object
      properties:
        id: {{type: string}}
        email: {{type: string, format: email}}
        pets: {{type: array, items: {{$ref: '#/components/schemas/Pet'}}}}
    NewPet:
      type: object
      required: [name]
      properties:
        name: {{type: string}}
        tag: {{type: string}}
    Order:
      type: object
      properties:
        id: {{type: integer}}
        petId: {{type: integer}}
        quantity: {{type: integer, minimum: 1}}
        shipDate: {{type: string, format: date-time}}
    Error:
      type: object
      required: [code, message]
      properties:
        code: {{type: integer}}
        message: {{type: string}}
"""

# A second spec on the same server, for request bodies of every kind (kept apart so the main
# spec's tool count stays what other tests expect).
BODIES_SPEC = """\
openapi: 3.0.3
info: {{title: Bodies, version: '1'}}
servers: [{{url: '{server}'}}]
paths:
  /echo-body:
    post:
      tags: [bodies]
      operationId: echoBody
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {{type: object}}
            encoding: {{tags: {{explode: false}}}}
          multipart/form-data:
            schema: {{type: object}}
            encoding: {{meta: {{contentType: application/json}}}}
          application/octet-stream:
            schema: {{type: string, format: binary}}
          text/plain:
            schema: {{type: string}}
      responses: {{'200': {{description: what arrived}}}}
"""
